"""Small builders for hand-made clusters in the scheduler tests."""

from __future__ import annotations

from scheduler import PlanDeployment, PlanNode
from scheduler.memory import MiB

GiB = 1024 * MiB


def node(node_id: str, gib: float = 16, cores: int = 8, zone: str = "") -> PlanNode:
    return PlanNode(node_id, int(gib * GiB), cores, zone)


def dep(dep_id: str, allocations: int = 1, threads: int = 1, mib: int = 100, **kw) -> PlanDeployment:
    return PlanDeployment(
        id=dep_id,
        model_id=kw.pop("model_id", f"model-{dep_id}"),
        model_bytes=mib * MiB,
        allocations=allocations,
        threads_per_allocation=threads,
        **kw,
    )


def check_valid(nodes, deployments, plan) -> None:
    """No node over its cores or memory, no deployment over its ask, a key per deployment."""
    by_id = {n.id: n for n in nodes}
    mem = {n.id: 0 for n in nodes}
    cores = {n.id: 0 for n in nodes}
    low = {n.id: 0 for n in nodes}
    assert set(plan.assignments) == {d.id for d in deployments}
    for d in deployments:
        placed = plan.assignments[d.id]
        assert all(v > 0 for v in placed.values())
        assert sum(placed.values()) <= d.allocations
        for node_id, count in placed.items():
            mem[node_id] += d.memory_bytes(count)
            cores[node_id] += d.cores(count)
            low[node_id] += d.priority == "low"
    for node_id, n in by_id.items():
        assert mem[node_id] <= n.memory_bytes
        assert cores[node_id] <= n.cores
        assert low[node_id] <= 100
