"""The LP-relaxation upper bound on how many normal-priority allocations can be placed.

Allocations are real numbers and "runs on the node" is relaxed to x / U, with U the most
allocations one node could ever give the deployment; memory then costs at least
`max(floor / U, base / U + slope)` per allocation, which never exceeds the true estimate,
so the bound is valid. Identical nodes are merged into one column (exact for this LP), which
keeps big clusters of a few machine types cheap to bound.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from .arrays import Arrays

#: Above this many (deployment, node-type) pairs the LP is skipped for a looser bound.
MAX_LP_PAIRS = 400_000


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
    types, count = np.unique(
        np.stack([p.mem, p.cores], axis=1), axis=0, return_counts=True
    )
    mem, cores = types[:, 0], types[:, 1]
    cap = per_node_cap(p, mem, cores)
    trivial = float(np.minimum(p.allocations, (cap * count[None, :]).sum(axis=1)).sum())
    rows, cols = np.nonzero(cap)
    if rows.size == 0:
        return 0.0
    if rows.size > MAX_LP_PAIRS:
        return trivial
    u = cap[rows, cols].astype(float)
    per_alloc_mem = np.maximum(p.mem_floor[rows] / u, p.mem_base[rows] / u + p.mem_slope[rows])
    n_pairs, n_deps, n_types = rows.size, p.shape[0], len(mem)
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
    b = np.concatenate([p.allocations, cores * count, mem * count]).astype(float)
    result = linprog(
        -np.ones(n_pairs), A_ub=a, b_ub=b, bounds=np.stack([np.zeros(n_pairs), u * count[cols]], axis=1), method="highs"
    )
    return float(-result.fun) if result.status == 0 else trivial
