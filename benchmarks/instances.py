"""Seeded random plan instances (shared/reference/plan-instance-format.md) for benchmarks.

Clusters are built from a few machine sizes, as real ones are; deployments ask for a share
of the cluster's cores (`demand` times all cores), half of the normal ones already run
somewhere (placed first-fit, valid), and a few are low priority. All randomness comes from
the numpy Generator passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scheduler.memory import estimate_memory_bytes

GiB = 1 << 30
MiB = 1 << 20
#: (memory for deployments, allocated processors) of the machine sizes nodes come in.
MACHINES = ((14 * GiB, 8), (30 * GiB, 16), (60 * GiB, 32))
MODEL_MIB = (50, 120, 250, 440, 800, 1300)
THREADS = (1, 1, 2, 2, 4, 8)


def random_instance(
    rng: np.random.Generator,
    n_nodes: int,
    n_deployments: int,
    demand: float = 0.9,
    zones: int = 1,
    placed_fraction: float = 0.5,
    low_fraction: float = 0.05,
) -> dict[str, Any]:
    """An instance dict; `demand` is requested threads over the cluster's cores."""
    kinds = rng.integers(0, len(MACHINES), n_nodes)
    nodes = [
        {
            "id": f"node-{j:04d}",
            "memory_bytes": MACHINES[k][0],
            "cores": MACHINES[k][1],
            "zone": f"zone-{j % zones}" if zones > 1 else "",
        }
        for j, k in enumerate(kinds)
    ]
    total_cores = sum(n["cores"] for n in nodes)
    low = rng.random(n_deployments) < low_fraction
    threads = np.where(low, 1, rng.choice(THREADS, n_deployments))
    share = rng.lognormal(0.0, 1.0, n_deployments)
    wanted_threads = share / share.sum() * demand * total_cores
    allocations = np.where(low, 1, np.maximum(1, np.rint(wanted_threads / threads))).astype(int)
    deployments = []
    for i in range(n_deployments):
        with_metadata = rng.random() < 0.2
        model_bytes = int(rng.choice(MODEL_MIB)) * MiB
        deployments.append(
            {
                "id": f"dep-{i:04d}",
                "model_id": f"model-{i:04d}",
                "model_bytes": model_bytes,
                "per_deployment_memory_bytes": int(model_bytes // 2) if with_metadata else 0,
                "per_allocation_memory_bytes": int(model_bytes // 8) if with_metadata else 0,
                "allocations": int(allocations[i]),
                "threads_per_allocation": int(threads[i]),
                "priority": "low" if low[i] else "normal",
                "current_allocations": {},
                "max_assigned_allocations": 0,
            }
        )
    _place_some(rng, nodes, [d for d in deployments if d["priority"] == "normal"], placed_fraction)
    return {"nodes": nodes, "deployments": deployments}


def _place_some(rng: np.random.Generator, nodes: list[dict], deployments: list[dict], fraction: float) -> None:
    """First-fit a random `fraction` of `deployments` onto shuffled nodes: a valid current state."""
    free_mem = {n["id"]: n["memory_bytes"] for n in nodes}
    free_cores = {n["id"]: n["cores"] for n in nodes}
    order = [nodes[j]["id"] for j in rng.permutation(len(nodes))]
    chosen = rng.permutation(len(deployments))[: int(round(fraction * len(deployments)))]
    for i in sorted(chosen):
        dep = deployments[i]
        need = dep["allocations"]
        for node_id in order:
            if need == 0:
                break
            t = dep["threads_per_allocation"]
            count = min(need, free_cores[node_id] // t)
            while count > 0 and _memory(dep, count) > free_mem[node_id]:
                count -= 1
            if count > 0:
                dep["current_allocations"][node_id] = count
                free_mem[node_id] -= _memory(dep, count)
                free_cores[node_id] -= count * t
                need -= count
        dep["max_assigned_allocations"] = sum(dep["current_allocations"].values())


def _memory(dep: dict, count: int) -> int:
    return estimate_memory_bytes(
        dep["model_id"],
        dep["model_bytes"],
        count,
        dep["per_deployment_memory_bytes"],
        dep["per_allocation_memory_bytes"],
    )
