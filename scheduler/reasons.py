"""Why a deployment did not get all its allocations, in Elasticsearch's words.

Overloaded clusters leave hundreds of deployments short on every one of hundreds of nodes,
so the checks run as numpy comparisons per deployment and each node's part of the sentence
(which depends only on the node and what the plan left there) is formatted once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

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
    short = [d for d in deployments if sum(assignments.get(d.id, {}).values()) < d.allocations]
    if not short:
        return {}
    if not nodes:
        return {d.id: NO_NODES for d in short}
    nodes = sorted(nodes, key=lambda n: n.id)
    col = {n.id: j for j, n in enumerate(nodes)}
    free_mem = np.array([n.memory_bytes for n in nodes], dtype=np.int64)
    free_cores = np.array([n.cores for n in nodes], dtype=np.int64)
    for dep in deployments:
        placed = assignments.get(dep.id, {})
        if placed:
            curve = dep.memory_curve()
            for node_id, count in placed.items():
                free_mem[col[node_id]] -= curve.at(count)
                free_cores[col[node_id]] -= dep.cores(count)
    memory_head = _object_array(
        f"{_head(n.id)}This node has insufficient available memory. Available memory for ML "
        f"[{_bytes(n.memory_bytes)}], free memory [{_bytes(int(m))}], estimated memory required for this model ["
        for n, m in zip(nodes, free_mem)
    )
    cores_head = _object_array(
        f"{_head(n.id)}This node has insufficient allocated processors. Available processors [{n.cores}], "
        f"free processors [{int(c)}], processors required for each allocation of this model ["
        for n, c in zip(nodes, free_cores)
    )
    reasons: dict[str, str] = {}
    for dep in short:
        required, tails = _required_memory(dep, assignments.get(dep.id, {}), col, len(nodes))
        by_memory = required > free_mem
        by_cores = ~by_memory & (dep.priority != "low") & (dep.threads_per_allocation > free_cores)
        explained = np.flatnonzero(by_memory | by_cores)
        if explained.size:
            tails[~by_memory] = f"{dep.threads_per_allocation}]"
            heads = np.where(by_memory, memory_head, cores_head)
            reasons[dep.id] = "|".join((heads[explained] + tails[explained]).tolist())
    return reasons


def _required_memory(
    dep: PlanDeployment, placed: dict[str, int], col: dict[str, int], n_nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Memory one more allocation of `dep` needs on each node (the increase where it runs),
    and the memory reason's tail for each node."""
    curve = dep.memory_curve()
    one = curve.at(1)
    required = np.full(n_nodes, one, dtype=np.int64)
    tails = np.full(n_nodes, f"{_bytes(one)}].", dtype=object)
    for node_id, count in placed.items():
        more = curve.at(count + 1) - curve.at(count)
        required[col[node_id]] = more
        tails[col[node_id]] = f"{_bytes(more)}]."
    return required, tails


def _object_array(texts: Iterable[str]) -> np.ndarray:
    """Strings in an array, so a whole selection of them can be taken at once."""
    return np.array(list(texts), dtype=object)


def _head(node_id: str) -> str:
    return f"Could not assign (more) allocations on node [{node_id}]. Reason: "


@lru_cache(maxsize=4096)
def _bytes(n: int) -> str:
    return f"{n} ({format_bytes(n)})"
