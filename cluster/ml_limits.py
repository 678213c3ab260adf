"""`GET _ml/info` limits and `GET _ml/memory/_stats` breakdowns, computed from the nodes.

Elasticsearch derives both from each ML node's `ml.machine_memory` / `ml.max_jvm_size`
attributes and its allowed ML memory; the simulator derives them from the same node specs
and memory math the planner uses, so what these APIs report is what placement obeys.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodes.resources import NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES, ml_memory_limit
from scheduler.memory import MiB

from .state import ClusterState

#: The larger of an anomaly job's and a data frame analytics job's process overhead
#: (10 MB and 20 MB in Elasticsearch), taken off the effective model memory limit.
JOB_PROCESS_OVERHEAD_BYTES = 20 * MiB
#: `xpack.ml.max_model_memory_limit` is unset in a simulated cluster (0 = no limit).
MAX_MODEL_MEMORY_LIMIT = 0


def megabytes(n: int) -> str:
    """ByteSizeValue.ofMb(n / 1 MiB, rounded down) as Elasticsearch prints it: `28961mb`."""
    return f"{max(n, 0) // MiB}mb"


def total_ml_memory(state: ClusterState) -> int:
    return sum(state.ml_memory_limit(node_id) for node_id in state.nodes)


def effective_max_model_memory_limit(state: ClusterState) -> int | None:
    """The largest job a node could take: the biggest node's ML memory (or the biggest node
    autoscaling could add) less the job process and native code overheads; None when there
    is no ML node and none can be added."""
    largest = max((state.ml_memory_limit(node_id) for node_id in state.nodes), default=-1)
    settings = state.settings
    if settings.max_ml_node_size > 0 and len(state.nodes) < settings.max_lazy_ml_nodes:
        scaled = ml_memory_limit(
            settings.max_ml_node_size,
            0,
            settings.max_machine_memory_percent,
            settings.use_auto_machine_memory_percent,
        )
        largest = max(largest, scaled)
    if largest <= 0:
        return None
    return max(largest - JOB_PROCESS_OVERHEAD_BYTES - NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES, 0)


def ml_info_limits(state: ClusterState) -> dict[str, object]:
    """The `limits` object of `GET _ml/info`."""
    cores = [state.cores(node_id) for node_id in state.nodes]
    limits: dict[str, object] = {}
    if cores:
        limits["max_single_ml_node_processors"] = max(cores)
        limits["total_ml_processors"] = sum(cores)
    effective = effective_max_model_memory_limit(state)
    if effective is not None:
        limits["effective_max_model_memory_limit"] = megabytes(effective)
    limits["total_ml_memory"] = megabytes(total_ml_memory(state))
    return limits


def model_platform_variant(state: ClusterState) -> str:
    """Which variant of Elastic's models suits the ML nodes: simulated nodes are Linux
    x86_64; with none, a cloud-like cluster (auto memory percent, ES's heuristic) still
    gets the x86 variant."""
    if state.nodes or state.settings.use_auto_machine_memory_percent:
        return "linux-x86_64"
    return "platform_agnostic"


@dataclass(frozen=True, slots=True)
class NodeMemory:
    """One node's line of `_ml/memory/_stats`: what ML may use and what holds it."""

    total: int
    ml_max: int
    native_code_overhead: int
    anomaly_detectors: int
    native_inference: int
    heap_max: int


def node_memory(state: ClusterState, node_id: str) -> NodeMemory:
    """Native inference counts Elasticsearch deployments' routes and what other services
    (ml-commons) hold; the simulator's `other_ml_memory_bytes` stands for anomaly jobs.
    The native code overhead is charged once anything runs on the node, as ES does."""
    spec = state.nodes[node_id].spec
    inference = state.model_memory_used(node_id)
    jobs = spec.other_ml_memory_bytes
    return NodeMemory(
        total=spec.machine_memory,
        ml_max=state.ml_memory_limit(node_id),
        native_code_overhead=NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES if inference + jobs > 0 else 0,
        anomaly_detectors=jobs,
        native_inference=inference,
        heap_max=spec.effective_jvm_size,
    )
