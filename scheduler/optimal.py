"""The `optimal` mode: most allocations placed, then fewest current allocations moved, then
least memory.

A fast heuristic always runs: keep every current allocation that still fits (so nothing is
moved that could stay), then fill cheapest-per-allocation deployments first. On problems
small enough, a time-capped HiGHS MILP with the lexicographic objective is solved too and
wins when it is better; a final repair moves allocations back onto their current nodes
wherever that keeps the plan valid. Low priority is planned afterwards on the memory left,
smallest first (which maximises how many fit), at most 100 per node. Zones are not part of
this objective (see scheduler/README.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from .arrays import Arrays, build_arrays
from .ledger import Ledger
from .lp import allocation_upper_bound, per_node_cap
from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode
from .top_up import top_up

#: The MILP is tried when there are at most this many candidate (deployment, node) pairs.
MAX_MILP_PAIRS = 20_000
#: Wall-clock cap for HiGHS, seconds.
MILP_TIME_LIMIT = 1.5


def plan_optimal(
    nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]
) -> tuple[dict[str, dict[str, int]], float]:
    """Assignments and the LP upper bound on total allocations (low priority included)."""
    topped_up = top_up(nodes, deployments)
    if topped_up is not None:
        # everything asked for is placed: that total is the bound
        return topped_up, float(sum(d.allocations for d in deployments if d.allocations > 0))
    assignments: dict[str, dict[str, int]] = {d.id: {} for d in deployments}
    wanted = [d for d in deployments if d.allocations > 0]
    normal = [d for d in wanted if d.priority != "low"]
    low = [d for d in wanted if d.priority == "low"]
    p = build_arrays(nodes, normal)
    bound = allocation_upper_bound(p)
    alloc = keep_then_fill(p)
    if alloc.sum() < np.floor(bound + 1e-6) or _moved(p, alloc) > 0:
        exact = solve_milp(p)
        if exact is not None and _score(p, exact) > _score(p, alloc):
            alloc = exact
    alloc = move_back(p, alloc)
    _record(assignments, normal, nodes, alloc)
    if low:
        free = p.mem - p.memory_per_node(alloc)
        slots = [replace(n, memory_bytes=int(m), cores=MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE) for n, m in zip(nodes, free)]
        q = build_arrays(slots, low, low_priority_pass=True)
        _record(assignments, low, nodes, keep_then_fill(q))
        bound += float(np.count_nonzero(per_node_cap(q, q.mem, q.cores).sum(axis=1)))
    return assignments, round(bound, 6)


def keep_then_fill(p: Arrays) -> np.ndarray:
    """Keep what fits where it runs, then fill: fewest threads and least memory first,
    on a node that already runs the deployment, else the one with room for the most."""
    ledger = Ledger(p)
    for row, col in zip(*np.nonzero(p.current)):
        count = min(int(p.current[row, col]), int(ledger.remaining[row]))
        while count > 0:
            memory = ledger.memory_needed_one(row, col, count)
            if ledger.fits(row, col, count, memory):
                ledger.assign(row, col, count, memory)
                break
            count -= 1
    one = p.estimate(slice(None), np.ones(len(p.dep_ids), dtype=np.int64))
    for row in np.lexsort((one, p.threads)):
        threads = int(p.threads[row])
        while ledger.remaining[row] > 0:
            count = np.minimum(ledger.cores // threads, ledger.remaining[row])
            memory = ledger.memory_needed(row, count)
            usable = (count > 0) & (memory <= ledger.mem)
            if not usable.any():
                # fewer allocations may still fit where a whole step does not
                count = np.where(count > 0, 1, 0)
                memory = ledger.memory_needed(row, count)
                usable = (count > 0) & (memory <= ledger.mem)
                if not usable.any():
                    break
            cols = np.flatnonzero(usable)
            hosted = ledger.alloc[row, cols] > 0
            best = cols[np.lexsort((ledger.mem[cols] - memory[cols], -count[cols], ~hosted))[0]]
            ledger.assign(row, int(best), int(count[best]), int(memory[best]))
    return ledger.alloc


def solve_milp(p: Arrays) -> np.ndarray | None:
    """Exact lexicographic plan by HiGHS, or None when too big or nothing found in time."""
    cap = per_node_cap(p, p.mem, p.cores)
    rows, cols = np.nonzero(cap)
    n = rows.size
    if n == 0 or n > MAX_MILP_PAIRS:
        return None
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
    r, c, v = (np.concatenate(part) for part in zip(*entries))
    a = coo_matrix((v, (r, c)), shape=(row_at, total)).tocsr()
    keep_weight = float(p.current_total.sum() + 1)
    mem_scale = float(p.mem.sum() + 1)
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
        options={"time_limit": MILP_TIME_LIMIT, "mip_rel_gap": 1e-9},
    )
    if result.x is None:
        return None
    alloc = np.zeros(p.shape, dtype=np.int64)
    alloc[rows, cols] = np.rint(result.x[ox:ox + nx]).astype(np.int64)
    return alloc if _valid(p, alloc) else None


def move_back(p: Arrays, alloc: np.ndarray) -> np.ndarray:
    """Undo moves that placement does not need: an allocation of a deployment that sits
    above its current count on one node goes back to a current node it left, if it fits."""
    alloc = alloc.copy()
    for row in np.flatnonzero((p.current > alloc).any(axis=1)):
        for col in np.flatnonzero(p.current[row] > alloc[row]):
            while alloc[row, col] < p.current[row, col]:
                donors = np.flatnonzero(alloc[row] > p.current[row])
                if donors.size == 0:
                    break
                trial = alloc.copy()
                trial[row, donors[0]] -= 1
                trial[row, col] += 1
                if not _valid(p, trial):
                    break
                alloc = trial
    return alloc


def _valid(p: Arrays, alloc: np.ndarray) -> bool:
    used_mem = p.memory_per_node(alloc)
    used_cores = (alloc * p.threads[:, None]).sum(axis=0)
    return bool(
        np.all(alloc >= 0)
        and np.all(used_mem <= p.mem)
        and np.all(used_cores <= p.cores)
        and np.all(alloc.sum(axis=1) <= p.allocations)
    )


def _moved(p: Arrays, alloc: np.ndarray) -> int:
    return int(np.maximum(p.current - alloc, 0).sum())


def _score(p: Arrays, alloc: np.ndarray) -> tuple[int, int, int]:
    """The lexicographic objective, bigger is better."""
    return int(alloc.sum()), -_moved(p, alloc), -int(p.estimate(slice(None), alloc).sum())


def _record(
    assignments: dict[str, dict[str, int]],
    deployments: Sequence[PlanDeployment],
    nodes: Sequence[PlanNode],
    alloc: np.ndarray,
) -> None:
    for row, dep in enumerate(deployments):
        assignments[dep.id] = {nodes[col].id: int(alloc[row, col]) for col in np.flatnonzero(alloc[row])}
