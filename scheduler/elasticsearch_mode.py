"""The `elasticsearch` mode: the plan Elasticsearch's `TrainedModelAssignmentRebalancer`
would compute.

Normal-priority deployments are planned zone-aware over all nodes (their current
allocations on nodes that are still there); low-priority ones afterwards on the memory the
normal plan left, every node offering 100 "cores" (ES's cap of low-priority deployments per
node, which its builder never consumes), keeping current routes that still fit, smallest
deployment first.
"""

from __future__ import annotations

from typing import Sequence

from .arrays import record_assignments
from .es_model import Builder, EsDeployment, EsNode
from .es_planner import plan_nodes, plan_zones
from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode


def plan_elasticsearch(nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]) -> dict[str, dict[str, int]]:
    """Assignments for `nodes` and `deployments`, both sorted by id."""
    assignments: dict[str, dict[str, int]] = {d.id: {} for d in deployments}
    if not nodes:
        return assignments
    present = {n.id for n in nodes}
    wanted = [d for d in deployments if d.allocations > 0]
    normal = [_normal(d, present) for d in wanted if d.priority != "low"]
    zones: dict[str, list[EsNode]] = {}
    for n in nodes:
        zones.setdefault(n.zone, []).append(EsNode(n.id, n.memory_bytes, n.cores))
    normal_plan = plan_zones(zones, normal)
    _record(assignments, normal_plan)
    low = [d for d in wanted if d.priority == "low"]
    if low:
        free = {n.id: int(normal_plan.rem_mem[normal_plan.p.node_index[n.id]]) for n in nodes}
        low_nodes = [EsNode(n.id, free[n.id], MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE) for n in nodes]
        left = dict(free)
        by_size = sorted(low, key=lambda d: d.memory_bytes(d.allocations))  # stable: id order on ties
        low_plan = plan_nodes(low_nodes, [_low(d, present, left) for d in by_size])
        _record(assignments, low_plan)
        _cap_low_per_node(assignments, low)
    _cap_at_ask(assignments, wanted)
    return assignments


def _normal(d: PlanDeployment, present: set[str]) -> EsDeployment:
    both_metadata = d.per_deployment_memory_bytes > 0 and d.per_allocation_memory_bytes > 0
    # positional, in the record's field order: one per deployment and plan, and keywords
    # cost a third of building it
    return EsDeployment(
        d.id,
        d.model_bytes,
        d.allocations,
        d.threads_per_allocation,
        d.memory_curve(),
        {k: v for k, v in d.current_allocations.items() if v > 0 and k in present},  # current
        d.max_assigned_allocations,
        False,  # low
        d.per_allocation_memory_bytes,
        d.per_allocation_memory_bytes if both_metadata else 0,  # step_cap
    )


def _low(d: PlanDeployment, present: set[str], left: dict[str, int]) -> EsDeployment:
    """ES's low-priority record; current routes kept only where the deployment's full
    estimate still fits what is left (claimed in `left`). ES drops the memory metadata here
    and so may plan less memory than the deployment uses; the estimate charged here is the
    full one (README deviation), so the plan fits."""
    need = d.memory_bytes(d.allocations)
    current = {}
    for node_id, count in sorted(d.current_allocations.items()):
        if count > 0 and node_id in present and left[node_id] >= need:
            current[node_id] = count
            left[node_id] -= need
    return EsDeployment(
        id=d.id,
        model_bytes=d.model_bytes,
        allocations=d.allocations,
        threads=d.threads_per_allocation,
        curve=d.memory_curve(),
        current=current,
        max_assigned=d.max_assigned_allocations,
        low=True,
    )


def _record(assignments: dict[str, dict[str, int]], plan: Builder) -> None:
    record_assignments(assignments, plan.p.ids, [n.id for n in plan.p.nodes], plan.alloc)


def _cap_at_ask(assignments: dict[str, dict[str, int]], deployments: list[PlanDeployment]) -> None:
    """ES keeps the surplus of a deployment running more than it now asks for; a plan here
    never gives more than asked (README deviation): trim from the last nodes by id."""
    for d in deployments:
        placed = assignments[d.id]
        surplus = sum(placed.values()) - d.allocations
        if surplus <= 0:
            continue
        for node_id in sorted(placed, reverse=True):
            if surplus <= 0:
                break
            cut = min(surplus, placed[node_id])
            placed[node_id] -= cut
            surplus -= cut
            if placed[node_id] == 0:
                del placed[node_id]


def _cap_low_per_node(assignments: dict[str, dict[str, int]], low: list[PlanDeployment]) -> None:
    """At most 100 low-priority deployments per node (ES's builder does not enforce it)."""
    seen: dict[str, int] = {}
    for d in low:
        for node_id in sorted(assignments[d.id]):
            seen[node_id] = seen.get(node_id, 0) + 1
            if seen[node_id] > MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE:
                del assignments[d.id][node_id]
