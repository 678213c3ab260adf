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
    free_mem = [n.memory_bytes for n in nodes]
    free_cores = [n.cores for n in nodes]
    for dep in deployments:
        placed = assignments.get(dep.id, {})
        if placed:
            curve = dep.memory_curve()
            for node_id, count in placed.items():
                free_mem[col[node_id]] -= curve.at(count)
                free_cores[col[node_id]] -= dep.cores(count)
    memory_head = _object_array(
        f"{_head(n.id)}This node has insufficient available memory. Available memory for ML "
        f"[{_bytes(n.memory_bytes)}], free memory [{_bytes(m)}], estimated memory required for this model ["
        for n, m in zip(nodes, free_mem)
    )
    cores_head = _object_array(
        f"{_head(n.id)}This node has insufficient allocated processors. Available processors [{n.cores}], "
        f"free processors [{c}], processors required for each allocation of this model ["
        for n, c in zip(nodes, free_cores)
    )
    sentences = _Sentences(memory_head, cores_head, free_mem, free_cores)
    reasons: dict[str, str] = {}
    for dep in short:
        reason = sentences.reason(dep, assignments.get(dep.id, {}), col)
        if reason:
            reasons[dep.id] = reason
    return reasons


class _Sentences:
    """Every node's memory and processor sentence for the deployments being explained.

    A memory sentence ends in the memory one more allocation needs: the deployment's
    one-allocation estimate on every node it does not run on. A processor sentence ends in
    its threads. So the sentences for all nodes are completed once per distinct estimate
    and per distinct thread count, and a deployment's reason is a selection of them
    (re-worded only on the nodes it runs on) and one join."""

    def __init__(self, memory_head: np.ndarray, cores_head: np.ndarray, free_mem: list[int], free_cores: list[int]) -> None:
        self.memory_head, self.cores_head = memory_head, cores_head
        self.free_mem_of = free_mem
        self.free_mem = np.array(free_mem, dtype=np.int64)
        self.free_cores = np.array(free_cores, dtype=np.int64)
        self._by_memory: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._by_cores: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def by_memory(self, required: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes where `required` more bytes do not fit, and every node's memory sentence."""
        if required not in self._by_memory:
            self._by_memory[required] = (required > self.free_mem, self.memory_head + f"{_bytes(required)}].")
        return self._by_memory[required]

    def by_cores(self, threads: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes with fewer free cores than `threads`, and every node's processor sentence."""
        if threads not in self._by_cores:
            self._by_cores[threads] = (threads > self.free_cores, self.cores_head + f"{threads}]")
        return self._by_cores[threads]

    def reason(self, dep: PlanDeployment, placed: dict[str, int], col: dict[str, int]) -> str:
        """`dep`'s reason, or "" when no node explains its shortfall.

        A node gives a memory reason when one more allocation's memory (the increase where
        it runs) exceeds what the plan left free there, else a processor reason when one
        allocation's threads exceed its free cores (never for low priority)."""
        curve = dep.memory_curve()
        one_short, one_text = self.by_memory(curve.at(1))
        short_memory = one_short.copy()
        more_text: dict[int, str] = {}
        for node_id, count in placed.items():
            j = col[node_id]
            more = curve.at(count + 1) - curve.at(count)
            short_memory[j] = more > self.free_mem_of[j]
            more_text[j] = f"{self.memory_head[j]}{_bytes(more)}]."
        if dep.priority == "low":
            explained = np.flatnonzero(short_memory)
            texts = one_text.copy() if more_text else one_text
        else:
            cores_short, cores_text = self.by_cores(dep.threads_per_allocation)
            explained = np.flatnonzero(short_memory | cores_short)
            texts = np.where(short_memory, one_text, cores_text)
        if not explained.size:
            return ""
        for j, text in more_text.items():
            if short_memory[j]:
                texts[j] = text
        return "|".join(texts[explained].tolist())


def _object_array(texts: Iterable[str]) -> np.ndarray:
    """Strings in an array, so a whole selection of them can be taken at once."""
    return np.array(list(texts), dtype=object)


def _head(node_id: str) -> str:
    return f"Could not assign (more) allocations on node [{node_id}]. Reason: "


@lru_cache(maxsize=4096)
def _bytes(n: int) -> str:
    return f"{n} ({format_bytes(n)})"
