"""Deployment lifecycle requests: start, stop, update, and waiting for their outcome.

Each request checks everything before it changes anything, in Elasticsearch's order, so a
refused request leaves the cluster exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import scheduler

from .assignment import Assignment, TaskParameters
from .clock import SimClock
from .errors import MlError, illegal_argument, not_found, status_error
from .events import EventLog
from .ids import expand
from .master import Master
from .requests import AdaptiveAllocations, StartRequest, UpdateRequest
from .settings import MAX_TRAINED_MODEL_DEPLOYMENTS
from .state import ClusterState
from .timevalue import format_time_value


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """Why waiting for a start ended: reached, removed, or failed on some nodes."""

    kind: str
    failures: dict[str, str]


class DeploymentService:
    def __init__(self, state: ClusterState, master: Master, clock: SimClock, log: EventLog) -> None:
        self.state = state
        self.master = master
        self.clock = clock
        self.log = log

    # -- start ----------------------------------------------------------------------

    def start(self, request: StartRequest) -> Assignment:
        """Create the assignment and its routes; raises MlError and changes nothing if refused."""
        request.validate()
        model_id = self.state.resolve_model_id(request.model_id)
        if model_id is None:
            raise not_found(f"Could not find trained model [{request.model_id}]")
        model = self.state.models[model_id]
        deployment_id = request.deployment_id or model_id
        if not model.is_pytorch:
            raise status_error(
                400,
                f"model [{model_id}] of type [{model.model_type}] cannot be deployed. "
                "Only PyTorch models can be deployed",
            )
        if deployment_id != model_id and deployment_id in self.state.models:
            raise status_error(
                400,
                f"Deployment id [{deployment_id}] is the same as an another model which is not the model "
                "being deployed. Deployment id can be the same as the model being deployed but cannot "
                "match a different model",
            )
        if deployment_id in self.state.assignments:
            raise status_error(
                400,
                "Could not start model deployment because an existing deployment with the same id "
                f"[{deployment_id}] exist",
            )
        if len(self.state.assignments) >= MAX_TRAINED_MODEL_DEPLOYMENTS:
            raise status_error(
                429,
                "Could not start model deployment because existing deployments reached the limit of "
                f"[{MAX_TRAINED_MODEL_DEPLOYMENTS}]",
            )
        if model.downloading:
            raise status_error(
                408,
                f"Model download task is currently running. Wait for trained model [{model_id}] download task to "
                "complete then try again",
            )
        if model.definition is None:
            raise not_found(f"Could not find trained model definition [{model_id}]")
        if not model.fully_defined:
            raise status_error(
                400, f"Model definition truncated. Unable to deserialize trained model definition [{model_id}]"
            )
        params = TaskParameters(
            model_id=model_id,
            deployment_id=deployment_id,
            model_bytes=model.model_bytes,
            threads_per_allocation=request.threads_per_allocation,
            number_of_allocations=request.effective_allocations,
            queue_capacity=request.queue_capacity,
            priority=request.priority,
            cache_size=model.model_bytes if request.cache_size is None else request.cache_size,
            per_deployment_memory_bytes=model.per_deployment_memory_bytes,
            per_allocation_memory_bytes=model.per_allocation_memory_bytes,
        )
        adaptive = request.adaptive_allocations
        assignment = Assignment(
            params,
            start_time=self.clock.now,
            adaptive_allocations=adaptive.to_dict() if adaptive is not None else None,
        )
        plan = self.master.compute_plan([*self.master.active_assignments(), assignment])
        placed = plan.allocations(deployment_id)
        if placed < params.number_of_allocations and not self.state.scaling_possible():
            raise status_error(
                429,
                "Could not start deployment because no ML nodes with sufficient capacity were found"
                if placed == 0
                else "Could not start deployment because there are not enough resources to provide all "
                "requested allocations",
            )
        self.state.assignments[deployment_id] = assignment
        self.log.append(
            "deployment_created", "start deployment", deployment_id=deployment_id, model_id=model_id,
            number_of_allocations=params.number_of_allocations,
            threads_per_allocation=params.threads_per_allocation, priority=params.priority,
        )
        self.master.apply_plan(plan, "start deployment")
        return assignment

    def start_outcome(self, deployment_id: str, wait_for: str) -> StartOutcome | None:
        """None while the start is still in progress (Elasticsearch's started predicate)."""
        assignment = self.state.assignments.get(deployment_id)
        if assignment is None:
            return StartOutcome("removed", {})
        failures = {n: r.reason or "" for n, r in sorted(assignment.routes.items()) if r.routing_state == "failed"}
        if failures:
            return StartOutcome("failed", failures)
        if assignment.stopping or assignment.allocation_status().reached(wait_for):
            return StartOutcome("reached", {})
        if not assignment.any_route("starting"):
            return StartOutcome("reached", {})
        return None

    async def wait_for_start(self, deployment_id: str, wait_for: str, timeout: float) -> Assignment:
        await self.clock.wait_until(lambda: self.start_outcome(deployment_id, wait_for) is not None, timeout)
        return self._start_result(deployment_id, wait_for, timeout)

    def run_until_started(self, deployment_id: str, wait_for: str, timeout: float) -> Assignment:
        """Synchronous twin of `wait_for_start` for scripts (experiment or virtual clock)."""
        self.clock.run_until(lambda: self.start_outcome(deployment_id, wait_for) is not None, timeout)
        return self._start_result(deployment_id, wait_for, timeout)

    def _start_result(self, deployment_id: str, wait_for: str, timeout: float) -> Assignment:
        outcome = self.start_outcome(deployment_id, wait_for)
        if outcome is None:
            raise MlError(
                408,
                "model_deployment_timeout_exception",
                f"Timed out after [{format_time_value(timeout)}] waiting for trained model deployment "
                f"[{deployment_id}] to start. Use the trained model stats API to track the state of the "
                "deployment and try again once it has started.",
            )
        if outcome.kind == "removed":
            raise status_error(
                400,
                "Error waiting for the model deployment to start. The trained model assignment was "
                "removed while waiting",
            )
        if outcome.kind == "failed":
            self.master.begin_stop(self.state.assignments[deployment_id], "start failed")
            errors = ", ".join(f"{node}={reason}" for node, reason in outcome.failures.items())
            raise status_error(
                500,
                f"Could not start trained model deployment, the following nodes failed with errors [{{{errors}}}]",
            )
        return self.state.assignments[deployment_id]

    # -- stop -----------------------------------------------------------------------

    def resolve_for_stop(self, expression: str, allow_no_match: bool) -> list[Assignment]:
        """Deployments named by id, model id or wildcard expression; with `allow_no_match`
        even an exact id that names no deployment (one already stopped) is no error."""
        by_model = {a.model_id for a in self.state.assignments.values()}
        names, missing = expand(expression, [*self.state.assignments, *by_model])
        if missing and not allow_no_match:
            raise not_found(f"No known model deployment with id [{missing[0]}]")
        chosen = {
            a.deployment_id: a
            for a in self.state.assignments.values()
            if a.deployment_id in names or a.model_id in names
        }
        return [chosen[d] for d in sorted(chosen)]

    def stop(self, expression: str, force: bool = False, allow_no_match: bool = True) -> list[str]:
        """Begin stopping the named deployments; returns their ids."""
        assignments = self.resolve_for_stop(expression, allow_no_match)
        if not force:
            for assignment in assignments:
                self._refuse_stop_if_in_pipeline(assignment)
        for assignment in assignments:
            if not assignment.stopping:
                self.master.begin_stop(assignment, "stop deployment")
        return [a.deployment_id for a in assignments]

    def _refuse_stop_if_in_pipeline(self, assignment: Assignment) -> None:
        model_id = assignment.model_id
        if self.state.pipelines_referencing(model_id) or self.state.pipelines_referencing(assignment.deployment_id):
            raise status_error(
                409,
                f"Cannot stop deployment for model [{model_id}] as it is referenced by ingest processors; "
                "use force to stop the deployment",
            )
        for alias in self.state.aliases_of(model_id):
            if self.state.pipelines_referencing(alias):
                raise status_error(
                    409,
                    f"Cannot stop deployment for model [{model_id}] as it has a model_alias [{alias}] that is "
                    "still referenced by ingest processors; use force to stop the deployment",
                )

    def stopped(self, deployment_ids: list[str]) -> Callable[[], bool]:
        return lambda: not any(d in self.state.assignments for d in deployment_ids)

    # -- cache ----------------------------------------------------------------------

    def clear_cache(self, deployment_id: str) -> None:
        """Empty the result cache of every route of the deployment (queues brought to now
        first by the caller), so the next repeated input is a miss again."""
        if deployment_id not in self.state.assignments:
            raise not_found(f"No known model deployment with id [{deployment_id}]")
        for node_id in sorted(self.state.assignments[deployment_id].routes):
            node = self.state.nodes.get(node_id)
            queue = node.queues.get(deployment_id) if node else None
            if queue is not None:
                queue.clear_cache()
        self.log.append("cache_cleared", "clear deployment cache", deployment_id=deployment_id)

    # -- update ---------------------------------------------------------------------

    def update(self, request: UpdateRequest) -> Assignment:
        """Scale a started deployment or change its adaptive settings."""
        request.validate()
        assignment = self.state.assignments.get(request.deployment_id)
        if assignment is None:
            raise not_found(f"No known model deployment with id [{request.deployment_id}]")
        old_n = assignment.params.number_of_allocations
        new_n = old_n if request.number_of_allocations is None else request.number_of_allocations
        adaptive = self._merged_adaptive(assignment, request)
        if new_n == old_n and adaptive == assignment.adaptive_allocations:
            return assignment
        scaling_from_zero = request.allow_zero and old_n == 0
        if assignment.state != "started" and not scaling_from_zero:
            raise status_error(409, "cannot update deployment that is not in [started] state")
        if assignment.params.priority == "low" and new_n > 1:
            raise illegal_argument("[number_of_allocations] must be 1 when [priority] is low")
        assignment.params.number_of_allocations = new_n
        if new_n > old_n:
            plan = self.master.compute_plan(self.master.active_assignments())
            if plan.allocations(assignment.deployment_id) < new_n and not self.state.scaling_possible():
                assignment.params.number_of_allocations = old_n
                raise status_error(
                    429,
                    "Could not update deployment because there are not enough resources to provide all "
                    "requested allocations",
                )
        assignment.adaptive_allocations = adaptive
        self.master.before_change()
        self.log.append(
            "deployment_updated", "update deployment", deployment_id=assignment.deployment_id,
            number_of_allocations=new_n, adaptive_allocations=adaptive,
        )
        if new_n > old_n:
            self.master.apply_plan(plan, "update deployment")
        elif new_n < old_n:
            self._reduce(assignment, new_n)
        return assignment

    def _merged_adaptive(self, assignment: Assignment, request: UpdateRequest) -> dict | None:
        if request.reset_adaptive:
            return None
        if request.adaptive_allocations is None:
            return assignment.adaptive_allocations
        current = assignment.adaptive_allocations or {}
        base = AdaptiveAllocations(
            enabled=bool(current.get("enabled", False)),
            min_number_of_allocations=current.get("min_number_of_allocations"),
            max_number_of_allocations=current.get("max_number_of_allocations"),
        )
        return base.merged_with(request.adaptive_allocations, set(request.adaptive_fields)).to_dict()

    def _reduce(self, assignment: Assignment, target: int) -> None:
        """Elasticsearch's allocation reducer: no re-plan, just fewer allocations per node."""
        current = {
            node_id: route.target_allocations
            for node_id, route in assignment.routes.items()
            if route.routing_state in ("starting", "started")
        }
        zones = {node_id: self.state.zone_of(node_id) for node_id in current if node_id in self.state.nodes}
        reduced = scheduler.reduce_allocations(current, zones, target) if target > 0 else {}
        self.master.set_targets(assignment, {n: a for n, a in reduced.items() if a > 0}, "update deployment")
