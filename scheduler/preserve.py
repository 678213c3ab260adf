"""Elasticsearch's two ways of keeping current placements while re-planning.

Preserve-one keeps one allocation on every node a deployment runs on (so moving the
rest never stops a deployment); preserve-all keeps every current allocation. Either way
the preserved part is set aside on the nodes, the rest is bin-packed, and both are merged
back node by node on the real capacities.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from .arrays import Arrays, nonzero_pairs
from .binpack import bin_pack
from .ledger import Ledger


def solve_preserving(p: Arrays, keep_all: bool) -> np.ndarray:
    """Plan `p` keeping one (or all) current allocations per hosting node."""
    current = p.current
    rows, cols = nonzero_pairs(current)
    counts = current[rows, cols]
    kept = (rows, cols, counts if keep_all else np.ones_like(counts))
    # Memory is reserved for every current allocation, as Elasticsearch does, even when
    # only one per node is kept; cores only for the kept ones.
    reserved_mem = p.per_node(cols, p.estimate(rows, counts))
    reserved_cores = p.per_node(cols, kept[2] * p.threads[rows])
    preserved = p.current_total if keep_all else p.current_hosts
    rest = replace(
        p,
        mem=p.mem - reserved_mem,
        cores=p.cores - reserved_cores,
        allocations=np.where(p.has_current, p.allocations - preserved, p.allocations),
    )
    new = bin_pack(rest, held=current)
    return merge(p, kept, new)


def merge(p: Arrays, kept: tuple[np.ndarray, np.ndarray, np.ndarray], new: np.ndarray) -> np.ndarray:
    """Node by node: first the kept allocations (rows, cols, counts; row-major like
    `nonzero_pairs`), then the new ones, each only if it fits.

    Never gives a deployment more than it asks for (relevant when it runs more now). Works
    on the few placed entries: a dense sum of the two [D, N] plans costs more than the rest.
    """
    ledger = Ledger(p)
    n_nodes = p.shape[1]
    new_rows, new_cols = nonzero_pairs(new)
    flat, where = np.unique(
        np.concatenate([kept[0] * n_nodes + kept[1], new_rows * n_nodes + new_cols]), return_inverse=True
    )
    counts = np.bincount(
        where.ravel(), weights=np.concatenate([kept[2], new[new_rows, new_cols]]), minlength=flat.size
    ).astype(np.int64)
    rows, cols = divmod(flat, n_nodes)
    touched = np.unique(cols)
    if np.all(np.bincount(rows, weights=counts, minlength=p.shape[0]) <= p.allocations):
        # No deployment can reach its ask, so nodes are independent, and a node with room
        # for everything it is offered takes all of it (the estimate only grows with n).
        used_mem = p.per_node(cols, p.estimate(rows, counts))
        used_cores = p.per_node(cols, counts * p.threads[rows])
        room = (used_mem <= p.mem) & (used_cores <= p.cores)
        taken = room[cols]
        ledger.alloc[rows[taken], cols[taken]] = counts[taken]
        ledger.mem -= np.where(room, used_mem, 0)
        ledger.cores -= np.where(room, used_cores, 0)
        np.subtract.at(ledger.remaining, rows[taken], counts[taken])
        touched = touched[~room[touched]]
    kept_rows, kept_cols, kept_counts = kept
    for col in touched.tolist():
        here = kept_cols == col
        offers = [zip(kept_rows[here].tolist(), kept_counts[here].tolist())]
        new_here = np.flatnonzero(new[:, col] > 0)
        offers.append(zip(new_here.tolist(), new[new_here, col].tolist()))
        for row, offered in itertools.chain(*offers):
            count = min(offered, int(ledger.remaining[row]))
            if count <= 0:
                continue
            memory = ledger.memory_needed_one(row, col, count)
            if ledger.fits(row, col, count, memory):
                ledger.assign(row, col, count, memory)
    return ledger.alloc
