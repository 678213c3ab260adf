"""The optimal mode's fast path: keep every current allocation, place only what is missing.

After an `_update` (+1 allocation) or a new deployment on a settled cluster, almost every
deployment already runs what it asks for. When the missing allocations fit the capacity
the current placement leaves, that plan is optimal for the first two objectives (everything
placed, nothing moved), so the full optimisation is not needed. Works on plain dicts, since
only a few deployments take part.
"""

from __future__ import annotations

from typing import Sequence

from .memory import MemoryCurve
from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode

#: With more deployments short than this the full optimisation runs: the node scans here are
#: plain Python, cheap for a few deployments, slower than the numpy greedy for hundreds.
MAX_SHORT_DEPLOYMENTS = 16


def top_up(nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]) -> dict[str, dict[str, int]] | None:
    """Every deployment with its full ask and no current allocation moved, or None when the
    current placement is not valid as it is, too many deployments are short, or something
    missing does not fit."""
    free_mem = {n.id: n.memory_bytes for n in nodes}
    free_cores = {n.id: n.cores for n in nodes}
    low_slots = dict.fromkeys(free_mem, MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE)
    assignments: dict[str, dict[str, int]] = {}
    short: list[PlanDeployment] = []
    for dep in deployments:
        placed = (
            {node: n for node, n in sorted(dep.current_allocations.items()) if n > 0 and node in free_mem}
            if dep.allocations > 0
            else {}
        )
        if sum(placed.values()) > dep.allocations:
            return None  # a decrease: which allocations to drop is the full planner's choice
        curve = dep.memory_curve()
        for node, n in placed.items():
            free_mem[node] -= curve.at(n)
            if dep.priority == "low":
                low_slots[node] -= n
            else:
                free_cores[node] -= n * dep.threads_per_allocation
        assignments[dep.id] = placed
        if sum(placed.values()) < dep.allocations:
            short.append(dep)
    if len(short) > MAX_SHORT_DEPLOYMENTS or any(
        free_mem[n] < 0 or free_cores[n] < 0 or low_slots[n] < 0 for n in free_mem
    ):
        return None
    # normal before low priority (low uses what normal leaves); cheapest allocations first
    short.sort(key=lambda d: (d.priority == "low", d.threads_per_allocation, d.memory_bytes(1), d.id))
    for dep in short:
        is_low = dep.priority == "low"
        room = low_slots if is_low else free_cores
        threads = 1 if is_low else dep.threads_per_allocation
        if not _fill(dep, assignments[dep.id], free_mem, room, threads):
            return None
    return {dep.id: dict(sorted(assignments[dep.id].items())) for dep in deployments}


def _fill(
    dep: PlanDeployment, placed: dict[str, int], free_mem: dict[str, int], room: dict[str, int], threads: int
) -> bool:
    """Place `dep`'s missing allocations: on nodes already running it first (cheapest in
    memory), then on the node taking all that is left with the fewest cores to spare, else
    the one taking the most. Charges `free_mem` and `room`; False when some stay unplaced."""
    curve = dep.memory_curve()
    missing = dep.allocations - sum(placed.values())
    for node in list(placed):
        k = _most_that_fit(curve, placed[node], free_mem[node], min(missing, room[node] // threads))
        missing -= _take(curve, placed, node, k, free_mem, room, threads)
    while missing > 0:
        best, best_key = None, None
        for node in free_mem:
            if node in placed:
                continue
            k = _most_that_fit(curve, 0, free_mem[node], min(missing, room[node] // threads))
            if k <= 0:
                continue
            key = (k < missing, -k if k < missing else room[node], node)
            if best_key is None or key < best_key:
                best, best_key = (node, k), key
        if best is None:
            return False
        missing -= _take(curve, placed, best[0], best[1], free_mem, room, threads)
    return True


def _most_that_fit(curve: MemoryCurve, held: int, free: int, limit: int) -> int:
    """Most extra allocations, at most `limit`, whose memory increase over `held` fits `free`."""
    if limit <= 0 or curve.at(held + 1) - curve.at(held) > free:
        return 0
    if curve.slope == 0:
        return limit
    budget = free + curve.at(held)  # the estimate for held + k must stay within this
    return max(0, min(limit, (budget - curve.base) // curve.slope - held))


def _take(
    curve: MemoryCurve,
    placed: dict[str, int],
    node: str,
    k: int,
    free_mem: dict[str, int],
    room: dict[str, int],
    threads: int,
) -> int:
    if k <= 0:
        return 0
    held = placed.get(node, 0)
    free_mem[node] -= curve.at(held + k) - curve.at(held)
    room[node] -= k * threads
    placed[node] = held + k
    return k
