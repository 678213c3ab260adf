"""Elasticsearch's greedy bin-pack, the plan it computes before (or instead of) its LP.

Deployments go largest first (model size times threads, doubled for ones already running);
each takes, as often as it can, the best node by Elasticsearch's node order — a node it runs
on now, then one with cores for all it still needs, then the closest core fit, then more
memory — and gets as many allocations there as the free cores allow (for deployments with
both memory metadata, no more than free memory // per-allocation bytes), if memory allows.
Nodes are scanned with numpy; ties go to the earlier node, as a stable sort would.
"""

from __future__ import annotations

import numpy as np

from .arrays import Arrays
from .ledger import Ledger


def bin_pack(p: Arrays, held: np.ndarray | None = None) -> np.ndarray:
    """Allocations per (deployment, node) of the greedy plan for `p`."""
    ledger = Ledger(p, held)
    n_deps, n_nodes = p.shape
    if n_deps == 0 or n_nodes == 0 or p.cores.max() <= 0:
        return ledger.alloc
    max_cores = int(p.cores.max())
    # Deployments that cannot fit anywhere (unless already running) are left out.
    candidates = np.flatnonzero(
        (p.has_current | (p.model_bytes <= p.mem.max())) & (p.threads <= max_cores)
    )
    if candidates.size == 0:
        return ledger.alloc
    largest_model = max(int(p.model_bytes[candidates].max()), 1)
    node_memory_score = 0.01 * (p.mem / largest_model)
    size = (np.where(p.has_current[candidates], 2.0, 1.0) * -(p.model_bytes[candidates] / largest_model)) * p.threads[
        candidates
    ]
    for row in candidates[np.argsort(size, kind="stable")].tolist():
        if ledger.remaining[row] > 0:
            _place(ledger, row, node_memory_score)
    return ledger.alloc


def _place(ledger: Ledger, row: int, node_memory_score: np.ndarray) -> None:
    """Steps for one deployment, each on the best node by ES's order, until none fits.

    Only nodes with cores for one allocation can ever take a step (cores only shrink), so
    the steps scan that subset, kept locally with one node changing per step.
    """
    p = ledger.p
    threads = int(p.threads[row])
    cols = np.flatnonzero(ledger.cores >= threads)
    if cols.size == 0:
        return
    # nothing of this row is placed yet in this bin-pack: what is there before is the held part
    before = np.zeros(cols.size, dtype=np.int64) if ledger.held is None else ledger.held[row][cols]
    not_host = np.where(p.current[row][cols] > 0, 0, 1) if p.has_current[row] else 1
    nodes = _Nodes(cols, ledger.cores[cols], ledger.mem[cols], node_memory_score[cols], not_host)
    if p.mem_slope[row] == 0 and p.step_cap_bytes[row] == 0:
        _place_flat(ledger, row, nodes, before)
    else:
        _place_sloped(ledger, row, nodes, before)


class _Nodes:
    """The scanned nodes' free cores and memory and their fixed order terms."""

    def __init__(
        self, cols: np.ndarray, cores: np.ndarray, mem: np.ndarray, score: np.ndarray, not_host: np.ndarray | int
    ) -> None:
        self.cols, self.cores, self.mem, self.score, self.not_host = cols, cores, mem, score, not_host

    def best(self, wanted_threads: int, usable: np.ndarray) -> int:
        """Index of the first usable node with the smallest ES order key."""
        cores = self.cores
        order = (self.not_host + np.where(cores >= wanted_threads, 0, 1)) + 0.01 * np.abs(
            cores - wanted_threads
        ) - self.score
        return int(np.argmin(np.where(usable, order, np.inf)))

    def take(self, ledger: Ledger, row: int, k: int, count: int, memory: int) -> None:
        ledger.assign(row, int(self.cols[k]), count, memory)
        self.cores[k] = ledger.cores[self.cols[k]]
        self.mem[k] = ledger.mem[self.cols[k]]


def _place_flat(ledger: Ledger, row: int, nodes: _Nodes, before: np.ndarray) -> None:
    """A deployment whose memory does not grow with allocations and whose steps memory does
    not cap (the common case): a node it is on costs
    nothing more, any other its full estimate, so which nodes are usable changes only
    where a step lands."""
    threads = int(ledger.p.threads[row])
    need = np.where(before > 0, 0, max(int(ledger.p.mem_floor[row]), int(ledger.p.mem_base[row])))
    usable = need <= nodes.mem
    remaining = int(ledger.remaining[row])
    while remaining > 0:
        k = nodes.best(remaining * threads, usable)
        if not usable[k]:
            return
        count = min(int(nodes.cores[k]) // threads, remaining)
        nodes.take(ledger, row, k, count, int(need[k]))
        remaining -= count
        need[k] = 0
        usable[k] = nodes.cores[k] >= threads and nodes.mem[k] >= 0


def _place_sloped(ledger: Ledger, row: int, nodes: _Nodes, before: np.ndarray) -> None:
    """A deployment whose memory grows per allocation or whose step memory caps: the step
    size, and with it the memory a step needs, depends on what is still wanted and on free
    memory, so every step recomputes both."""
    p = ledger.p
    threads = int(p.threads[row])
    floor, base, slope = int(p.mem_floor[row]), int(p.mem_base[row]), int(p.mem_slope[row])
    step_cap = int(p.step_cap_bytes[row])
    held_memory = np.where(before > 0, np.maximum(floor, base + slope * before), 0)
    remaining = int(ledger.remaining[row])
    while remaining > 0:
        count = np.minimum(nodes.cores // threads, remaining)
        if step_cap > 0:
            count = np.maximum(np.minimum(count, nodes.mem // step_cap), 0)
        # the increase of the estimate; meaningless where count is 0, which is never usable
        memory = np.maximum(floor, base + slope * (before + count)) - held_memory
        usable = (count > 0) & (memory <= nodes.mem)
        k = nodes.best(remaining * threads, usable)
        if not usable[k]:
            return
        n = int(count[k])
        nodes.take(ledger, row, k, n, int(memory[k]))
        remaining -= n
        before[k] += n
        held_memory[k] = max(floor, base + slope * int(before[k]))
