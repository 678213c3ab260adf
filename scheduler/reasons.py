"""Why a deployment did not get all its allocations, in Elasticsearch's words."""

from __future__ import annotations

from typing import Sequence

from .memory import format_bytes
from .problem import PlanDeployment, PlanNode

NO_NODES = "No ML nodes exist in the cluster"


def explain(
    nodes: Sequence[PlanNode],
    deployments: Sequence[PlanDeployment],
    assignments: dict[str, dict[str, int]],
) -> dict[str, str]:
    """For each deployment short of its allocations, the per-node reasons joined by `|`.

    A node gives a memory reason when one more allocation's memory exceeds what the plan
    left free there, else a processor reason when one allocation's threads exceed its free
    cores (never for low priority, which uses none). Like Elasticsearch, a deployment that
    no node can explain gets no reason.
    """
    free_mem = {n.id: n.memory_bytes for n in nodes}
    free_cores = {n.id: n.cores for n in nodes}
    for dep in deployments:
        for node_id, count in assignments.get(dep.id, {}).items():
            free_mem[node_id] -= dep.memory_bytes(count)
            free_cores[node_id] -= dep.cores(count)
    reasons: dict[str, str] = {}
    for dep in deployments:
        placed = assignments.get(dep.id, {})
        if sum(placed.values()) >= dep.allocations:
            continue
        if not nodes:
            reasons[dep.id] = NO_NODES
            continue
        parts = []
        for node in sorted(nodes, key=lambda n: n.id):
            reason = _node_reason(node, dep, placed.get(node.id, 0), free_mem[node.id], free_cores[node.id])
            if reason:
                parts.append(f"Could not assign (more) allocations on node [{node.id}]. Reason: {reason}")
        if parts:
            reasons[dep.id] = "|".join(parts)
    return reasons


def _node_reason(node: PlanNode, dep: PlanDeployment, placed: int, free_mem: int, free_cores: int) -> str | None:
    required = dep.memory_bytes(placed + 1) - dep.memory_bytes(placed)
    if required > free_mem:
        return (
            "This node has insufficient available memory. "
            f"Available memory for ML [{_bytes(node.memory_bytes)}], free memory [{_bytes(free_mem)}], "
            f"estimated memory required for this model [{_bytes(required)}]."
        )
    if dep.priority != "low" and dep.threads_per_allocation > free_cores:
        return (
            "This node has insufficient allocated processors. "
            f"Available processors [{node.cores}], free processors [{free_cores}], "
            f"processors required for each allocation of this model [{dep.threads_per_allocation}]"
        )
    return None


def _bytes(n: int) -> str:
    return f"{n} ({format_bytes(n)})"
