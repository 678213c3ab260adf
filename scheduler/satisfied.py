"""Whether the current placement already is the plan: every deployment has exactly what it
asks for on nodes that still exist, and no node is over its cores, memory or low-priority
slots. Elasticsearch skips the rebalance in that case; both modes return it unchanged,
which is also what each would choose (nothing to add, nothing to move)."""

from __future__ import annotations

from typing import Sequence

from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode


def is_satisfied(nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]) -> bool:
    free_mem = {n.id: n.memory_bytes for n in nodes}
    free_cores = {n.id: n.cores for n in nodes}
    low_slots = dict.fromkeys(free_mem, MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE)
    for dep in deployments:
        placed = {node: count for node, count in dep.current_allocations.items() if count > 0}
        if sum(placed.values()) != dep.allocations or any(node not in free_mem for node in placed):
            return False
        for node, count in placed.items():
            free_mem[node] -= dep.memory_bytes(count)
            free_cores[node] -= dep.cores(count)
            low_slots[node] -= dep.priority == "low"
    return all(free_mem[n] >= 0 and free_cores[n] >= 0 and low_slots[n] >= 0 for n in free_mem)


def current_assignments(deployments: Sequence[PlanDeployment]) -> dict[str, dict[str, int]]:
    return {
        d.id: {node: count for node, count in sorted(d.current_allocations.items()) if count > 0}
        for d in deployments
    }
