"""The planning problem and its answer: plain data shared by every planner mode.

Field names follow `shared/reference/plan-instance-format.md`, so an instance file, the
cluster's live state and the benchmarks all describe a problem the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from .memory import MemoryCurve, memory_curve

Priority = Literal["normal", "low"]

#: Low-priority deployments use no cores; a node hosts at most this many of them.
MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE = 100


@dataclass(frozen=True, slots=True)
class PlanNode:
    """An ML node as the planner sees it.

    `memory_bytes` is what model deployments may use in total (net of JVM, other ML jobs
    and the per-node overhead, but *not* of current deployments: the planner re-places
    those itself). `cores` are allocated processors after `allocated_processors_scale`.
    """

    id: str
    memory_bytes: int
    cores: int
    zone: str = ""


@dataclass(frozen=True, slots=True)
class PlanDeployment:
    """A deployment's demand and where its allocations run today."""

    id: str
    model_id: str
    model_bytes: int
    allocations: int
    threads_per_allocation: int = 1
    priority: Priority = "normal"
    per_deployment_memory_bytes: int = 0
    per_allocation_memory_bytes: int = 0
    cache_size: int | None = None
    current_allocations: Mapping[str, int] = field(default_factory=dict)
    max_assigned_allocations: int = 0

    def memory_bytes(self, allocations: int) -> int:
        """Memory this deployment needs on a node that runs `allocations` of it."""
        return self.memory_curve().at(allocations)

    def memory_curve(self) -> MemoryCurve:
        """The shape of this deployment's memory estimate (see `memory.MemoryCurve`)."""
        return memory_curve(
            self.model_id,
            self.model_bytes,
            self.per_deployment_memory_bytes,
            self.per_allocation_memory_bytes,
            self.cache_size,
        )

    def cores(self, allocations: int) -> int:
        """Cores used on a node by `allocations` allocations (none for low priority)."""
        return 0 if self.priority == "low" else allocations * self.threads_per_allocation

    @property
    def current_total(self) -> int:
        return sum(self.current_allocations.values())


@dataclass(slots=True)
class Plan:
    """Where each deployment's allocations go.

    `assignments[deployment_id][node_id] = allocations` (zero entries omitted; every
    planned deployment has a key, possibly with an empty dict). `reasons` holds, for
    each deployment not fully allocated, Elasticsearch's explanation string.
    `upper_bound` is the LP-relaxation bound on total allocations when a mode computes it.
    """

    assignments: dict[str, dict[str, int]]
    reasons: dict[str, str] = field(default_factory=dict)
    mode: str = "elasticsearch"
    compute_ms: float = 0.0
    upper_bound: float | None = None

    def allocations(self, deployment_id: str) -> int:
        return sum(self.assignments.get(deployment_id, {}).values())
