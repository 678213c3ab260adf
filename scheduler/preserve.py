"""Elasticsearch's two ways of keeping current placements while re-planning.

Preserve-one keeps one allocation on every node a deployment runs on (so moving the
rest never stops a deployment); preserve-all keeps every current allocation. Either way
the preserved part is set aside on the nodes, the rest is bin-packed, and both are merged
back node by node on the real capacities.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .arrays import Arrays
from .binpack import bin_pack
from .ledger import Ledger


def solve_preserving(p: Arrays, keep_all: bool) -> np.ndarray:
    """Plan `p` keeping one (or all) current allocations per hosting node."""
    current = p.current
    hosted = current > 0
    kept = current if keep_all else hosted.astype(np.int64)
    # Memory is reserved for every current allocation, as Elasticsearch does, even when
    # only one per node is kept; cores only for the kept ones.
    reserved_mem = p.memory_per_node(current)
    reserved_cores = (kept * p.threads[:, None]).sum(axis=0)
    preserved = p.current_total if keep_all else p.current_hosts
    rest = replace(
        p,
        mem=p.mem - reserved_mem,
        cores=p.cores - reserved_cores,
        allocations=np.where(p.has_current, p.allocations - preserved, p.allocations),
    )
    new = bin_pack(rest, held=current)
    return merge(p, kept, new)


def merge(p: Arrays, kept: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Node by node: first the kept allocations, then the new ones, each only if it fits.

    Never gives a deployment more than it asks for (relevant when it runs more now).
    """
    ledger = Ledger(p)
    total = kept + new
    touched = np.flatnonzero(total.any(axis=0))
    if np.all(total.sum(axis=1) <= p.allocations):
        # No deployment can reach its ask, so nodes are independent, and a node with room
        # for everything it is offered takes all of it (the estimate only grows with n).
        rows, cols = np.nonzero(total)
        counts = total[rows, cols]
        used_mem = p.memory_per_node(total)
        used_cores = np.zeros(p.shape[1], dtype=np.int64)
        np.add.at(used_cores, cols, counts * p.threads[rows])
        room = (used_mem <= p.mem) & (used_cores <= p.cores)
        taken = room[cols]
        ledger.alloc[rows[taken], cols[taken]] = counts[taken]
        ledger.mem -= np.where(room, used_mem, 0)
        ledger.cores -= np.where(room, used_cores, 0)
        np.subtract.at(ledger.remaining, rows[taken], counts[taken])
        touched = touched[~room[touched]]
    for col in touched:
        for source in (kept, new):
            for row in np.flatnonzero(source[:, col] > 0):
                count = min(int(source[row, col]), int(ledger.remaining[row]))
                if count <= 0:
                    continue
                memory = ledger.memory_needed_one(row, col, count)
                if ledger.fits(row, col, count, memory):
                    ledger.assign(row, col, count, memory)
    return ledger.alloc
