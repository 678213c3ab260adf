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
    for row in candidates[np.argsort(size, kind="stable")]:
        _place(ledger, int(row), node_memory_score)
    return ledger.alloc


def _place(ledger: Ledger, row: int, node_memory_score: np.ndarray) -> None:
    p = ledger.p
    threads = int(p.threads[row])
    not_host = np.where(p.current[row] > 0, 0, 1) if p.has_current[row] else 1
    while ledger.remaining[row] > 0:
        wanted_threads = int(ledger.remaining[row]) * threads
        cores = ledger.cores
        count = np.minimum(cores // threads, ledger.remaining[row])
        if p.step_cap_bytes[row] > 0:
            count = np.maximum(np.minimum(count, ledger.mem // p.step_cap_bytes[row]), 0)
        memory = ledger.memory_needed(row, count)
        usable = np.flatnonzero((count > 0) & (memory <= ledger.mem))
        if usable.size == 0:
            return
        c = cores[usable]
        order = (
            (not_host if np.isscalar(not_host) else not_host[usable]) + np.where(c >= wanted_threads, 0, 1)
        ) + 0.01 * np.abs(c - wanted_threads) - node_memory_score[usable]
        col = int(usable[np.argmin(order)])
        ledger.assign(row, col, int(count[col]), int(memory[col]))
