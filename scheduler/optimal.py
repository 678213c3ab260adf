"""The `optimal` mode: most allocations placed, then fewest current allocations moved, then
least memory.

When only a few allocations are missing and fit, `top_up` keeps everything and places them.
Otherwise two greedy plans are built (`greedy.py`: one moving nothing, one filling cheapest
first around current placements) and, on small problems, a HiGHS MILP (`milp.py`) gets what
is left of the time cap (setup included); the best by the objective wins, and a repair moves
allocations back onto their current nodes wherever that keeps the plan valid. Low priority is
planned afterwards on the memory left, smallest first (which maximises how many fit), at most
100 per node. Zones are not part of this objective (see scheduler/README.md).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from .arrays import Arrays, build_arrays, record_assignments
from .greedy import fill_around_current, keep_then_fill
from .lp import allocation_upper_bound, per_node_cap
from .milp import solve_milp
from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode
from .top_up import top_up

#: Wall-clock cap, seconds, on the optimal mode's search for the normal-priority plan,
#: counted from its start; the MILP gets what the bound and the greedy plans leave of it.
MILP_TIME_LIMIT = 1.5


def plan_optimal(
    nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]
) -> tuple[dict[str, dict[str, int]], float]:
    """Assignments and an upper bound on total allocations (low priority included): the LP
    relaxation's, or the MILP's proven bound when that is lower."""
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
    bound = allocation_upper_bound(p)
    alloc = keep_then_fill(p)
    if alloc.sum() < np.floor(bound + 1e-6):
        alloc = max((alloc, fill_around_current(p)), key=lambda a: _score(p, a))
    if alloc.sum() < np.floor(bound + 1e-6) or _moved(p, alloc) > 0:
        exact, milp_bound = solve_milp(p, MILP_TIME_LIMIT - (time.perf_counter() - started))
        bound = min(bound, np.floor(milp_bound + 1e-6))
        if exact is not None and _score(p, exact) > _score(p, alloc):
            alloc = exact
    alloc = move_back(p, alloc)
    record_assignments(assignments, normal, nodes, alloc)
    if low:
        free = p.mem - p.memory_per_node(alloc)
        slots = [PlanNode(n.id, int(m), MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, n.zone) for n, m in zip(nodes, free)]
        q = build_arrays(slots, low, low_priority_pass=True)
        record_assignments(assignments, low, nodes, keep_then_fill(q))
        bound += float(np.count_nonzero(per_node_cap(q, q.mem, q.cores).sum(axis=1)))
    return assignments, round(float(bound), 6)


def move_back(p: Arrays, alloc: np.ndarray) -> np.ndarray:
    """Undo moves that placement does not need: an allocation of a deployment that sits
    above its current count on one node goes back to a current node it left, if it fits."""
    alloc = alloc.copy()
    free_mem = p.mem - p.memory_per_node(alloc)
    free_cores = p.cores - (alloc * p.threads[:, None]).sum(axis=0)
    for row in np.flatnonzero((p.current > alloc).any(axis=1) & (alloc > p.current).any(axis=1)).tolist():
        threads = int(p.threads[row])
        for col in np.flatnonzero(p.current[row] > alloc[row]).tolist():
            while alloc[row, col] < p.current[row, col]:
                donors = np.flatnonzero(alloc[row] > p.current[row])
                if donors.size == 0:
                    break
                donor = int(donors[0])
                here, there = int(alloc[row, col]), int(alloc[row, donor])
                grows = p.estimate_one(row, here + 1) - p.estimate_one(row, here)
                if grows > free_mem[col] or threads > free_cores[col]:
                    break
                alloc[row, col] += 1
                alloc[row, donor] -= 1
                free_mem[col] -= grows
                free_cores[col] -= threads
                free_mem[donor] += p.estimate_one(row, there) - p.estimate_one(row, there - 1)
                free_cores[donor] += threads
    return alloc


def _moved(p: Arrays, alloc: np.ndarray) -> int:
    return int(np.maximum(p.current - alloc, 0).sum())


def _score(p: Arrays, alloc: np.ndarray) -> tuple[int, int, int]:
    """The lexicographic objective, bigger is better."""
    return int(alloc.sum()), -_moved(p, alloc), -int(p.memory_per_node(alloc).sum())
