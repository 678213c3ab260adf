"""Entry point: choose a planner mode and time it.

Stand-in: a keep-what-runs-then-fill greedy, until the Elasticsearch-faithful and optimal
modes land behind this same signature.
"""

from __future__ import annotations

import time
from typing import Sequence

from .problem import Plan, PlanDeployment, PlanNode

PLANNER_MODES = ("elasticsearch",)


def plan(
    nodes: Sequence[PlanNode],
    deployments: Sequence[PlanDeployment],
    mode: str = "elasticsearch",
) -> Plan:
    """Place every deployment's allocations on `nodes`; never exceeds cores or memory."""
    if mode not in PLANNER_MODES:
        raise ValueError(f"unknown planner mode [{mode}]; expected one of {list(PLANNER_MODES)}")
    started = time.perf_counter()
    result = _greedy(sorted(nodes, key=lambda n: n.id), sorted(deployments, key=lambda d: d.id))
    result.mode = mode
    result.compute_ms = (time.perf_counter() - started) * 1000.0
    return result


def _greedy(nodes: list[PlanNode], deployments: list[PlanDeployment]) -> Plan:
    free_mem = {n.id: n.memory_bytes for n in nodes}
    free_cores = {n.id: n.cores for n in nodes}
    assignments: dict[str, dict[str, int]] = {d.id: {} for d in deployments}

    def place(dep: PlanDeployment, node_id: str, wanted: int) -> int:
        have = assignments[dep.id].get(node_id, 0)
        extra_mem = dep.memory_bytes(have + 1) - dep.memory_bytes(have)
        count = 0
        while count < wanted:
            extra_mem = dep.memory_bytes(have + count + 1) - dep.memory_bytes(have)
            if extra_mem > free_mem[node_id] or dep.cores(count + 1) > free_cores[node_id]:
                break
            count += 1
        if count:
            free_mem[node_id] -= dep.memory_bytes(have + count) - dep.memory_bytes(have)
            free_cores[node_id] -= dep.cores(count)
            assignments[dep.id][node_id] = have + count
        return count

    for dep in deployments:
        for node_id, current in sorted(dep.current_allocations.items()):
            if node_id in free_mem:
                place(dep, node_id, min(current, dep.allocations - sum(assignments[dep.id].values())))
    for dep in deployments:
        for node in sorted(nodes, key=lambda n: (-free_cores[n.id], n.id)):
            missing = dep.allocations - sum(assignments[dep.id].values())
            if missing <= 0:
                break
            place(dep, node.id, missing)
    reasons = {
        d.id: "Could not assign (more) allocations"
        for d in deployments
        if sum(assignments[d.id].values()) < d.allocations
    }
    return Plan(assignments=assignments, reasons=reasons)
