"""The `optimal` mode: most allocations placed, then fewest current allocations moved, then
least memory.

When only a few allocations are missing and fit, `top_up` keeps everything and places them.
Otherwise greedy constructions (`greedy.py`), each polished by `repair.py` (merge scattered
free cores into more allocations, put back moved allocations that can go back), are tried
in turn until one is proven best in placed and moved by the LP bounds (`lp.py`); if none
is and the problem is small, a HiGHS MILP (`milp.py`) gets what is left of the time cap to
find a better plan or prove there is none. Low priority is planned afterwards on the memory
left, smallest first (which maximises how many fit), at most 100 per node. Zones are not
part of this objective (see scheduler/README.md).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from .arrays import Arrays, build_arrays, record_assignments
from .greedy import fill_around_current, fill_by_class, keep_then_fill
from .lp import allocation_upper_bound, fewest_moves_bound, per_node_cap
from .milp import solve_milp
from .problem import PlanDeployment, PlanNode
from .repair import fill_holes, restore_moves
from .top_up import top_up

#: Wall-clock cap, seconds, on the optimal mode's search for the normal-priority plan,
#: counted from its start; the MILP gets what the bounds and the constructions leave of it.
MILP_TIME_LIMIT = 1.5


def plan_optimal(
    nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]
) -> tuple[dict[str, dict[str, int]], float]:
    """Assignments and an upper bound on total allocations (low priority included): the LP
    relaxation's rounded down, or the MILP's proven bound when that is lower."""
    started = time.perf_counter()
    topped_up = top_up(nodes, deployments)
    if topped_up is not None:
        # everything asked for is placed: that total is the bound
        return topped_up, float(sum(d.allocations for d in deployments if d.allocations > 0))
    assignments: dict[str, dict[str, int]] = {d.id: {} for d in deployments}
    wanted = [d for d in deployments if d.allocations > 0]
    normal = [d for d in wanted if d.priority != "low"]
    low = [d for d in wanted if d.priority == "low"]
    p = build_arrays(nodes, normal)
    alloc, bound = _plan_normal(p, started)
    record_assignments(assignments, p.dep_ids, p.node_ids, alloc)
    if low:
        free = p.mem - p.memory_per_node(alloc)
        q = build_arrays(nodes, low, low_priority_memory=free)
        record_assignments(assignments, q.dep_ids, q.node_ids, keep_then_fill(q))
        bound += float(np.count_nonzero(per_node_cap(q, q.mem, q.cores).sum(axis=1)))
    return assignments, round(float(bound), 6)


def _plan_normal(p: Arrays, started: float) -> tuple[np.ndarray, float]:
    """The normal-priority plan and an upper bound on its count (an integer: the LP's rounded
    down, or the MILP's when lower).

    Constructions cheapest and most often best first: keeping everything, which is done when
    it places the most; filling by thread class; filling around current placements."""
    kept = keep_then_fill(p)
    requested = int(np.maximum(p.allocations, 0).sum())
    # a plan placing everything asked for needs no LP to know it places the most
    most = float(requested) if int(kept.sum()) >= requested else float(np.floor(allocation_upper_bound(p) + 1e-6))
    alloc = None
    for construct in (keep_then_fill, fill_by_class, fill_around_current):
        candidate = kept if construct is keep_then_fill else construct(p)
        if construct is not keep_then_fill or _may_reach(p, candidate, most):
            candidate = polish(p, candidate)
        if alloc is None or _score(p, candidate) > _score(p, alloc):
            alloc = candidate
        if _proven(p, alloc, most):
            return alloc, most
    better, milp_bound = solve_milp(p, MILP_TIME_LIMIT - (time.perf_counter() - started), alloc, int(most))
    if better is not None:
        alloc = restore_moves(p, better)
    return alloc, min(most, float(np.floor(milp_bound + 1e-6)))


def polish(p: Arrays, alloc: np.ndarray) -> np.ndarray:
    """Merge scattered free cores into more allocations, then put back every moved
    allocation that can go back (see `repair`)."""
    return restore_moves(p, fill_holes(p, alloc))


def _may_reach(p: Arrays, alloc: np.ndarray, most: float) -> bool:
    """Whether merging spare cores could lift `alloc` to `most`: each allocation it adds takes
    at least the fewest threads any short deployment needs. (Keeping everything moves
    nothing; polishing it is only worth it when that could make it the answer.)"""
    short = alloc.sum(axis=1) < p.allocations
    if not short.any():
        return True
    spare = int((p.cores - (alloc * p.threads[:, None]).sum(axis=0)).sum())
    return alloc.sum() + spare // int(p.threads[short].min()) >= most


def _proven(p: Arrays, alloc: np.ndarray, most: int) -> bool:
    """`alloc` places the most (the LP bound, rounded down) and moves the fewest any plan
    placing as many can (the moves bound, rounded up)."""
    placed, moved = int(alloc.sum()), _moved(p, alloc)
    return placed >= most and (moved == 0 or moved <= np.ceil(fewest_moves_bound(p, placed) - 1e-6))


def _moved(p: Arrays, alloc: np.ndarray) -> int:
    return int(np.maximum(p.current - alloc, 0).sum())


def _score(p: Arrays, alloc: np.ndarray) -> tuple[int, int, int]:
    """The lexicographic objective, bigger is better."""
    return int(alloc.sum()), -_moved(p, alloc), -int(p.memory_per_node(alloc).sum())
