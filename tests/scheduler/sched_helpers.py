"""Small builders for hand-made clusters in the scheduler tests."""

from __future__ import annotations

import numpy as np

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


def cluster(seed: int, n_nodes: int, n_deps: int) -> tuple[list[PlanNode], list[PlanDeployment]]:
    """A seeded random cluster with the awkward cases: zones, memory metadata, ELSER, caches,
    low priority, current allocations on nodes that left or beyond a node's capacity."""
    rng = np.random.default_rng(seed)
    zones = [""] if seed % 3 == 0 else [f"z{k}" for k in range(1 + seed % 3)]
    nodes = [
        PlanNode(f"n{i:02d}", int(rng.integers(300, 8000)) * MiB, int(rng.integers(0, 17)), str(rng.choice(zones)))
        for i in range(n_nodes)
    ]
    deployments = []
    for i in range(n_deps):
        low = rng.random() < 0.15
        metadata = rng.random() < 0.3
        current = {n: int(rng.integers(1, 4)) for n in [x.id for x in nodes] + ["gone"] if rng.random() < 0.2}
        deployments.append(
            PlanDeployment(
                id=f"d{i:02d}",
                model_id=".elser_model_2" if rng.random() < 0.1 else f"m{i}",
                model_bytes=int(rng.integers(1, 1500)) * MiB,
                allocations=1 if low else int(rng.integers(0, 9)),
                threads_per_allocation=1 if low else int(rng.choice([1, 2, 4, 8])),
                priority="low" if low else "normal",
                per_deployment_memory_bytes=int(rng.integers(0, 400)) * MiB if metadata else 0,
                per_allocation_memory_bytes=int(rng.integers(0, 200)) * MiB if metadata else 0,
                cache_size=int(rng.integers(1, 2000)) * MiB if rng.random() < 0.1 else None,
                current_allocations=current,
                max_assigned_allocations=int(rng.integers(0, 4)),
            )
        )
    return nodes, deployments
