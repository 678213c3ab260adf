"""The optimal mode's exact solver: the lexicographic objective as a HiGHS MILP.

Integer allocations `x`, binary "runs there" `y`, kept current `k <= min(x, current)` and,
for deployments whose memory grows per allocation, a continuous memory variable; the
objective `W·Σx + Σk − memory/(2·total memory)` with `W = Σcurrent + 1` orders placed, then
kept, then memory (the memory term stays below 1/2). HiGHS is asked for a plan *strictly
better* than the greedy one in the first two keys (`W·Σx + Σk ≥ W·placed + kept + 1`) with
no more than the LP bound placed, and may stop once its gap is below 1/2, which already
decides those keys: so it either proves quickly that no better plan exists (often at the
root) or finds one. The matrices are built with numpy in one go, so setup stays small next
to the solve.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from .arrays import Arrays, nonzero_pairs
from .lp import per_node_cap

#: The MILP is tried when there are at most this many candidate (deployment, node) pairs;
#: beyond that HiGHS rarely gets past its root node within the time cap.
MAX_MILP_PAIRS = 4_000


def solve_milp(
    p: Arrays, time_limit: float, incumbent: np.ndarray, most_placed: int
) -> tuple[np.ndarray | None, float]:
    """A plan better than `incumbent` in (placed, kept), HiGHS's best within `time_limit`
    seconds (None when there is none, none was found in time, or the problem is too big), and
    a proven upper bound on Σ allocations (inf when not known). `most_placed` is a known
    upper bound on Σ allocations (the LP's, rounded down)."""
    cap = per_node_cap(p, p.mem, p.cores)
    rows, cols = nonzero_pairs(cap)
    n = rows.size
    if n == 0 or n > MAX_MILP_PAIRS or time_limit <= 0:
        return None, np.inf
    n_deps, n_nodes = p.shape
    cur = p.current[rows, cols]
    kept_pairs = np.flatnonzero(cur > 0)
    sloped = np.flatnonzero(p.mem_slope[rows] > 0)
    # variable blocks: x (allocations), y (runs there), k (kept current), m (memory if sloped)
    nx, nk, nm = n, kept_pairs.size, sloped.size
    ox, oy, ok, om = 0, n, 2 * n, 2 * n + nk
    total = om + nm
    pair = np.arange(n)
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    row_at = 0

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        nonlocal row_at
        entries.append((r + row_at, c, v))
        lower.append(lo)
        upper.append(hi)
        row_at += len(lo)

    inf = np.inf
    add(rows, ox + pair, np.ones(n), np.full(n_deps, -inf), p.allocations.astype(float))
    add(cols, ox + pair, p.threads[rows].astype(float), np.full(n_nodes, -inf), p.cores.astype(float))
    flat = np.setdiff1d(pair, sloped)
    mem_r = np.concatenate([cols[flat], cols[sloped]])
    mem_c = np.concatenate([oy + flat, om + np.arange(nm)])
    mem_v = np.concatenate([p.mem_floor[rows[flat]].astype(float), np.ones(nm)])
    add(mem_r, mem_c, mem_v, np.full(n_nodes, -inf), p.mem.astype(float))
    add(np.concatenate([pair, pair]), np.concatenate([ox + pair, oy + pair]),
        np.concatenate([np.ones(n), -cap[rows, cols].astype(float)]), np.full(n, -inf), np.zeros(n))
    kr = np.arange(nk)
    add(np.concatenate([kr, kr]), np.concatenate([ok + kr, ox + kept_pairs]),
        np.concatenate([np.ones(nk), -np.ones(nk)]), np.full(nk, -inf), np.zeros(nk))
    sr = np.arange(nm)
    s_rows = rows[sloped]
    add(np.concatenate([sr, sr]), np.concatenate([om + sr, oy + sloped]),
        np.concatenate([np.ones(nm), -p.mem_floor[s_rows].astype(float)]), np.zeros(nm), np.full(nm, inf))
    add(np.concatenate([sr, sr, sr]), np.concatenate([om + sr, oy + sloped, ox + sloped]),
        np.concatenate([np.ones(nm), -p.mem_base[s_rows].astype(float), -p.mem_slope[s_rows].astype(float)]),
        np.zeros(nm), np.full(nm, inf))
    keep_weight = float(p.current_total.sum() + 1)
    placed, kept = int(incumbent.sum()), int(np.minimum(p.current, incumbent).sum())
    # no more than the bound, and strictly better than the incumbent in (placed, kept)
    add(np.zeros(n, dtype=np.int64), ox + pair, np.ones(n), np.array([-inf]), np.array([float(most_placed)]))
    add(np.zeros(n + nk, dtype=np.int64), np.concatenate([ox + pair, ok + np.arange(nk)]),
        np.concatenate([np.full(n, keep_weight), np.ones(nk)]),
        np.array([keep_weight * placed + kept + 1.0]), np.array([inf]))
    r, c, v = (np.concatenate(part) for part in zip(*entries))
    a = coo_matrix((v, (r, c)), shape=(row_at, total)).tocsr()
    mem_scale = 2.0 * float(p.mem.sum() + 1)
    cost = np.zeros(total)
    cost[ox:ox + nx] = -keep_weight
    cost[ok:ok + nk] = -1.0
    cost[oy + flat] = p.mem_floor[rows[flat]] / mem_scale
    cost[om:om + nm] = 1.0 / mem_scale
    hi = np.concatenate([cap[rows, cols], np.ones(n), cur[kept_pairs], np.full(nm, inf)]).astype(float)
    integrality = np.concatenate([np.ones(2 * n), np.zeros(nk + nm)])
    result = milp(
        cost,
        constraints=LinearConstraint(a, np.concatenate(lower), np.concatenate(upper)),
        bounds=Bounds(np.zeros(total), hi),
        integrality=integrality,
        # |objective| <= W·most_placed + Σcurrent: a relative gap this small is below 1/2
        options={"time_limit": time_limit, "mip_rel_gap": 0.45 / (keep_weight * (most_placed + 1))},
    )
    if result.status == 2:  # infeasible: nothing beats the incumbent
        return None, float(placed)
    # any better plan has objective >= dual bound, Σk >= 0 and memory term < 1/2
    dual = getattr(result, "mip_dual_bound", None)
    count_bound = max((0.5 - dual) / keep_weight, placed) if dual is not None and np.isfinite(dual) else np.inf
    if result.x is None:
        return None, count_bound
    alloc = np.zeros(p.shape, dtype=np.int64)
    alloc[rows, cols] = np.rint(result.x[ox:ox + nx]).astype(np.int64)
    if not is_valid(p, alloc):
        return None, count_bound
    return alloc, count_bound


def is_valid(p: Arrays, alloc: np.ndarray) -> bool:
    """No node over its memory or cores, no deployment over its ask."""
    used_cores = np.zeros(p.shape[1], dtype=np.int64)
    rows, cols = nonzero_pairs(alloc)
    np.add.at(used_cores, cols, alloc[rows, cols] * p.threads[rows])
    return bool(
        np.all(alloc >= 0)
        and np.all(p.memory_per_node(alloc) <= p.mem)
        and np.all(used_cores <= p.cores)
        and np.all(alloc.sum(axis=1) <= p.allocations)
    )
