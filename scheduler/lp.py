"""LP relaxations: an upper bound on how many normal-priority allocations can be placed, and a
lower bound on how many current allocations a plan placing a given count must move.

Allocations are real numbers and "runs on the node" is relaxed to x / U, with U the most
allocations one node could ever give the deployment; memory then costs at least
`max(floor / U, base / U + slope)` per allocation, which never exceeds the true estimate,
so the bound is valid. Identical nodes are merged into one column (exact for this LP), which
keeps big clusters of a few machine types cheap to bound; on big problems with many distinct
nodes, nodes that differ only in memory are merged too (a relaxation: still valid).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

from .arrays import Arrays, nonzero_pairs

#: Above this many (deployment, node-type) pairs the LP is skipped for a looser bound.
MAX_LP_PAIRS = 400_000
#: Above this many (deployment, node-type) cells, node types that differ only in memory are
#: merged (see `_TypeLp`): solving one column per distinct node took HiGHS ~1.5 s at 500
#: distinct nodes, while 1000 distinct nodes skipped the LP altogether.
MERGE_ABOVE = 20_000


def per_node_cap(p: Arrays, mem: np.ndarray, cores: np.ndarray) -> np.ndarray:
    """Most allocations of each deployment one node of each column could hold alone."""
    by_cores = cores[None, :] // p.threads[:, None]
    cap = np.minimum(by_cores, p.allocations[:, None])
    fits_one = p.estimate(slice(None), np.ones((len(p.dep_ids), 1), dtype=np.int64)) <= mem[None, :]
    return np.where(fits_one, np.maximum(cap, 0), 0)


def allocation_upper_bound(p: Arrays) -> float:
    """An upper bound on Σ allocations over any valid plan of `p` (normal priority)."""
    if p.shape[0] == 0 or p.shape[1] == 0:
        return 0.0
    lp = _TypeLp(p)
    trivial = float(np.minimum(p.allocations, (lp.cap * lp.count[None, :]).sum(axis=1)).sum())
    if lp.rows.size == 0:
        return 0.0
    if lp.rows.size > MAX_LP_PAIRS:
        return trivial
    a, b, bounds = lp.capacity_rows()
    result = linprog(-np.ones(lp.rows.size), A_ub=a, b_ub=b, bounds=bounds, method="highs")
    return float(-result.fun) if result.status == 0 else trivial


def fewest_moves_bound(p: Arrays, placed: int) -> float:
    """A lower bound on the current allocations any valid plan of `p` placing at least
    `placed` allocations moves (or drops): the same relaxation as the upper bound, with kept
    allocations `k ≤ min(x, current)` per (deployment, node type) and `Σx ≥ placed`.
    Where a plan's moves equal its ceiling, no plan placing as many moves fewer."""
    current = int(p.current.sum())
    if current == 0 or placed <= 0:
        return 0.0
    lp = _TypeLp(p)
    n_pairs = lp.rows.size
    if n_pairs == 0 or n_pairs > MAX_LP_PAIRS:
        return 0.0
    held = np.zeros(lp.cap.shape, dtype=np.int64)
    rows, cols = nonzero_pairs(p.current)
    np.add.at(held, (rows, lp.type_of[cols]), p.current[rows, cols])
    held_pairs = held[lp.rows, lp.cols]
    kept = np.flatnonzero(held_pairs > 0)
    a, b, bounds = lp.capacity_rows()
    n_kept = kept.size
    k = np.arange(n_kept)
    # Σx ≥ placed, and k ≤ x for every kept pair
    extra = coo_matrix(
        (
            np.concatenate([-np.ones(n_pairs), np.ones(n_kept), -np.ones(n_kept)]),
            (np.concatenate([np.zeros(n_pairs, dtype=np.int64), 1 + k, 1 + k]),
             np.concatenate([np.arange(n_pairs), n_pairs + k, kept])),
        ),
        shape=(1 + n_kept, n_pairs + n_kept),
    )
    a = vstack([hstack([a, coo_matrix((a.shape[0], n_kept))]), extra]).tocsr()
    b = np.concatenate([b, [-float(placed)], np.zeros(n_kept)])
    bounds = np.concatenate([bounds, np.stack([np.zeros(n_kept), held_pairs[kept].astype(float)], axis=1)])
    cost = np.concatenate([np.zeros(n_pairs), -np.ones(n_kept)])
    result = linprog(cost, A_ub=a, b_ub=b, bounds=bounds, method="highs")
    return max(float(current + result.fun), 0.0) if result.status == 0 else 0.0


class _TypeLp:
    """The relaxation's variables: one per (deployment, node type) pair that could hold an
    allocation, where a node type is a (memory, cores) pair and `count` nodes have it."""

    def __init__(self, p: Arrays) -> None:
        types, type_of, count = np.unique(
            np.stack([p.mem, p.cores], axis=1), axis=0, return_inverse=True, return_counts=True
        )
        type_of = type_of.ravel()
        if len(types) * p.shape[0] > MERGE_ABOVE:
            # Nodes with equal cores on which the same deployments fit one allocation have
            # identical columns but for memory: one column each, their memory summed. That
            # relaxes the LP (a merged solution need not split back onto the nodes), so both
            # bounds stay valid, only possibly looser.
            # which deployments fit one allocation depends only on how many distinct
            # one-allocation estimates the node's memory reaches
            one = np.unique(p.estimate(slice(None), np.ones((p.shape[0], 1), dtype=np.int64)).ravel())
            reach = np.searchsorted(one, p.mem, side="right")
            _, type_of, count = np.unique(
                np.stack([p.cores, reach], axis=1), axis=0, return_inverse=True, return_counts=True
            )
            type_of = type_of.ravel()
            n_types = len(count)
            mem = np.zeros(n_types, dtype=np.int64)
            np.maximum.at(mem, type_of, p.mem)  # any member's memory gives the same fits
            total = np.zeros(n_types, dtype=np.int64)
            np.add.at(total, type_of, p.mem)
            cores = np.zeros(n_types, dtype=np.int64)
            cores[type_of] = p.cores
            self.mem, self.cores, self.total_mem = mem, cores, total
        else:
            self.mem, self.cores = types[:, 0], types[:, 1]
            self.total_mem = self.mem * count
        self.p, self.type_of, self.count = p, type_of, count
        self.cap = per_node_cap(p, self.mem, self.cores)
        self.rows, self.cols = nonzero_pairs(self.cap)

    def capacity_rows(self) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
        """`A x ≤ b` for asks, cores and memory, and the bounds of x."""
        p, rows, cols = self.p, self.rows, self.cols
        u = self.cap[rows, cols].astype(float)
        per_alloc_mem = np.maximum(p.mem_floor[rows] / u, p.mem_base[rows] / u + p.mem_slope[rows])
        n_pairs, n_deps, n_types = rows.size, p.shape[0], len(self.mem)
        pair = np.arange(n_pairs)
        a = coo_matrix(
            (
                np.concatenate([np.ones(n_pairs), p.threads[rows].astype(float), per_alloc_mem]),
                (
                    np.concatenate([rows, n_deps + cols, n_deps + n_types + cols]),
                    np.concatenate([pair, pair, pair]),
                ),
            ),
            shape=(n_deps + 2 * n_types, n_pairs),
        ).tocsr()
        b = np.concatenate([p.allocations, self.cores * self.count, self.total_mem]).astype(float)
        return a, b, np.stack([np.zeros(n_pairs), u * self.count[cols]], axis=1)
