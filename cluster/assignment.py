"""A deployment's assignment: task parameters, routing table and the states derived from it.

Every state here is computed from the routing table on demand (assignment state,
allocation status, satisfaction), so there is nothing to keep in sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

from scheduler import PlanDeployment, estimate_memory_bytes

RoutingState = Literal["starting", "started", "stopping", "failed", "stopped"]
MEMORY_CONSUMING_STATES = ("starting", "started", "stopping")
ALLOCATION_STATES = ("starting", "started", "fully_allocated")
FAILED_REASON = "All node routes are failed; see node route reason for details"


@dataclass(slots=True)
class TaskParameters:
    model_id: str
    deployment_id: str
    model_bytes: int
    threads_per_allocation: int
    number_of_allocations: int
    queue_capacity: int
    priority: str
    cache_size: int | None
    per_deployment_memory_bytes: int = 0
    per_allocation_memory_bytes: int = 0

    def memory_bytes(self, allocations: int | None = None) -> int:
        """Memory on one node for `allocations` (default: all of number_of_allocations)."""
        n = self.number_of_allocations if allocations is None else allocations
        return estimate_memory_bytes(
            self.model_id,
            self.model_bytes,
            n,
            self.per_deployment_memory_bytes,
            self.per_allocation_memory_bytes,
            self.cache_size,
        )

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model_id": self.model_id,
            "deployment_id": self.deployment_id,
            "model_bytes": self.model_bytes,
            "threads_per_allocation": self.threads_per_allocation,
            "number_of_allocations": self.number_of_allocations,
            "queue_capacity": self.queue_capacity,
        }
        if self.cache_size is not None:
            body["cache_size"] = format_cache_size(self.cache_size)
        body["priority"] = self.priority
        body["per_deployment_memory_bytes"] = self.per_deployment_memory_bytes
        body["per_allocation_memory_bytes"] = self.per_allocation_memory_bytes
        return body


def format_cache_size(size: int) -> str:
    """ByteSizeValue's string form: the largest unit that divides exactly ("10kb", "0")."""
    if size == 0:
        return "0"
    for suffix, unit in (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return f"{size}b"


@dataclass(slots=True)
class Route:
    current_allocations: int
    target_allocations: int
    routing_state: RoutingState = "starting"
    reason: str | None = ""

    @property
    def consumes_memory(self) -> bool:
        return self.routing_state in MEMORY_CONSUMING_STATES

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "current_allocations": self.current_allocations,
            "target_allocations": self.target_allocations,
            "routing_state": self.routing_state,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True, slots=True)
class AllocationStatus:
    allocation_count: int
    target_allocation_count: int
    state: str

    def reached(self, wanted: str) -> bool:
        """Whether this status is at least `wanted` in starting < started < fully_allocated."""
        return ALLOCATION_STATES.index(self.state) >= ALLOCATION_STATES.index(wanted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allocation_count": self.allocation_count,
            "target_allocation_count": self.target_allocation_count,
            "state": self.state,
        }


@dataclass(slots=True)
class Assignment:
    params: TaskParameters
    start_time: float
    routes: dict[str, Route] = field(default_factory=dict)
    stopping: bool = False
    reason: str | None = None
    max_assigned_allocations: int = 0
    adaptive_allocations: dict[str, Any] | None = None
    #: The last planner view handed out, with the parameters it was built from: most
    #: deployments of most plans are unchanged, and a plan asks for every one of them.
    _plan_view: tuple[tuple, PlanDeployment] | None = field(default=None, repr=False, compare=False)

    @property
    def deployment_id(self) -> str:
        return self.params.deployment_id

    @property
    def model_id(self) -> str:
        return self.params.model_id

    @property
    def state(self) -> str:
        """stopping is sticky; otherwise started once any route is started, or when no
        allocation is wanted (a deployment adaptive allocations scaled to zero)."""
        if self.stopping:
            return "stopping"
        if self.params.number_of_allocations == 0:
            return "started"
        if any(r.routing_state == "started" for r in self.routes.values()):
            return "started"
        return "starting"

    @property
    def all_routes_failed(self) -> bool:
        return bool(self.routes) and all(r.routing_state == "failed" for r in self.routes.values())

    def allocation_status(self) -> AllocationStatus:
        count = sum(
            r.current_allocations
            for r in self.routes.values()
            if r.routing_state == "started" and r.current_allocations > 0
        )
        target = self.params.number_of_allocations
        if count == 0 and target > 0:
            state = "starting"
        elif count < target:
            state = "started"
        else:
            state = "fully_allocated"
        return AllocationStatus(count, target, state)

    def is_satisfied(self, assignable_nodes: Iterable[str]) -> bool:
        """Enough allocations targeted on starting/started routes of nodes still usable."""
        usable = set(assignable_nodes)
        targeted = sum(
            r.target_allocations
            for node_id, r in self.routes.items()
            if node_id in usable and r.routing_state in ("starting", "started")
        )
        return targeted >= self.params.number_of_allocations

    def any_route(self, state: RoutingState) -> bool:
        return any(r.routing_state == state for r in self.routes.values())

    def to_plan_deployment(self, assignable_nodes: Iterable[str]) -> PlanDeployment:
        """The planner's view: current allocations on usable nodes whose routes still count
        (pass the nodes as a set when asking for many deployments)."""
        usable = assignable_nodes if isinstance(assignable_nodes, (set, frozenset)) else set(assignable_nodes)
        current = {
            node_id: r.target_allocations
            for node_id, r in sorted(self.routes.items())
            if node_id in usable
            and r.current_allocations > 0
            and r.target_allocations > 0
            and r.routing_state in ("starting", "started", "failed")
        }
        p = self.params
        key = (
            p.deployment_id, p.model_id, p.model_bytes, p.number_of_allocations, p.threads_per_allocation,
            p.priority, p.per_deployment_memory_bytes, p.per_allocation_memory_bytes, p.cache_size,
            self.max_assigned_allocations,
        )
        known = self._plan_view
        if known is not None and known[0] == key and known[1].current_allocations == current:
            return known[1]  # frozen plain data: sharing it between plans is safe
        view = PlanDeployment(
            id=p.deployment_id,
            model_id=p.model_id,
            model_bytes=p.model_bytes,
            allocations=p.number_of_allocations,
            threads_per_allocation=p.threads_per_allocation,
            priority="low" if p.priority == "low" else "normal",
            per_deployment_memory_bytes=p.per_deployment_memory_bytes,
            per_allocation_memory_bytes=p.per_allocation_memory_bytes,
            cache_size=p.cache_size,
            current_allocations=current,
            max_assigned_allocations=self.max_assigned_allocations,
        )
        self._plan_view = (key, view)
        return view

    def to_dict(self, iso: Callable[[float], str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "task_parameters": self.params.to_dict(),
            "routing_table": {node_id: r.to_dict() for node_id, r in sorted(self.routes.items())},
            "assignment_state": self.state,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        body["start_time"] = iso(self.start_time)
        body["max_assigned_allocations"] = self.max_assigned_allocations
        body["adaptive_allocations"] = self.adaptive_allocations
        return body
