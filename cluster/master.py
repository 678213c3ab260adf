"""The master: asks the scheduler for a plan on every trigger and applies the difference.

It also hears what nodes report about routes (started, failed, resized, stopped) and turns
that into routing-table changes, each written to the event log with its cause.
"""

from __future__ import annotations

from typing import Callable, Iterable

import scheduler
from scheduler import Plan

from .assignment import Assignment, Route
from .events import EventLog
from .state import ClusterState


class Master:
    """Owns every change to routing tables; nodes only do the work it asks for."""

    def __init__(self, state: ClusterState, log: EventLog) -> None:
        self.state = state
        self.log = log
        self._pending_resize: dict[tuple[str, str], int] = {}
        #: The allocation status state last logged per deployment, so a change logs once.
        self._logged_status: dict[str, str] = {}
        #: Called before a routing table or a deployment's settings change (the cluster
        #: serves traffic up to now and starts its tick if needed).
        self.before_change: Callable[[], None] = lambda: None

    # -- planning -------------------------------------------------------------------

    def active_assignments(self) -> list[Assignment]:
        return [a for _, a in sorted(self.state.assignments.items()) if not a.stopping]

    def compute_plan(self, assignments: Iterable[Assignment]) -> Plan:
        """A plan for `assignments` on the assignable nodes (deployments with 0 dropped)."""
        assignable = set(self.state.assignable_node_ids())
        deployments = [
            a.to_plan_deployment(assignable) for a in assignments if a.params.number_of_allocations > 0
        ]
        return scheduler.plan(self.state.plan_nodes(), deployments, mode=self.state.settings.planner_mode)

    def rebalance(self, cause: str, force: bool = False) -> Plan | None:
        """Re-plan everything unless every assignment is already satisfied."""
        active = self.active_assignments()
        assignable = self.state.assignable_node_ids()
        if not force and all(a.is_satisfied(assignable) for a in active):
            self.log.append("rebalance_skipped", cause, reason="all assignments satisfied")
            return None
        plan = self.compute_plan(active)
        self.apply_plan(plan, cause)
        return plan

    def apply_plan(self, plan: Plan, cause: str) -> None:
        """Turn a plan into routing-table changes and the node work they need."""
        self.log.append(
            "rebalance",
            cause,
            measured={"planner_ms": round(plan.compute_ms, 3)},
            mode=plan.mode,
            moved=self.allocations_moved(plan),
            assignments={d: dict(sorted(n.items())) for d, n in sorted(plan.assignments.items())},
        )
        self.before_change()
        for assignment in self.active_assignments():
            deployment_id = assignment.deployment_id
            if assignment.params.number_of_allocations == 0:
                self._set_targets(assignment, {}, cause)
                continue
            targets = plan.assignments.get(deployment_id, {})
            if _targets_unchanged(assignment, targets):
                self._log_allocation_status(assignment, cause)  # its number may have changed
            else:
                self._set_targets(assignment, targets, cause)
            reason = plan.reasons.get(deployment_id)
            if reason != assignment.reason:
                assignment.reason = reason
                self.log.append("assignment_reason", cause, deployment_id=deployment_id, reason=reason)

    def allocations_moved(self, plan: Plan) -> int:
        """Allocations the plan takes off nodes that stay (each one a model reload elsewhere);
        what leaves with a node, or with a smaller deployment, is not a move."""
        staying = set(self.state.nodes) - self.state.leaving
        moved = 0
        for assignment in self.active_assignments():
            if assignment.params.number_of_allocations == 0:
                continue
            planned = plan.assignments.get(assignment.deployment_id, {})
            for node_id, route in assignment.routes.items():
                if node_id in staying and route.routing_state in ("starting", "started"):
                    moved += max(0, route.target_allocations - planned.get(node_id, 0))
        return moved

    def set_targets(self, assignment: Assignment, targets: dict[str, int], cause: str) -> None:
        """Give each node its target; add, reset or drop routes; start the node work."""
        self.before_change()
        self._set_targets(assignment, targets, cause)

    def _set_targets(self, assignment: Assignment, targets: dict[str, int], cause: str) -> None:
        """`set_targets` once the cluster has caught up to now (one catch-up serves a whole
        plan: every change of it happens at the same simulated instant)."""
        deployment_id = assignment.deployment_id
        for node_id, target in sorted(targets.items()):
            route = assignment.routes.get(node_id)
            if route is None:
                assignment.routes[node_id] = Route(target, target, "starting", "")
                self.log.append("route_added", cause, deployment_id=deployment_id, node_id=node_id, allocations=target)
                self._load(assignment, node_id)
                continue
            if route.routing_state == "failed":
                self._set_state(assignment, node_id, "starting", "", cause)
                self._load(assignment, node_id)
            if route.target_allocations != target:
                route.target_allocations = target
                self.log.append(
                    "route_target", cause, deployment_id=deployment_id, node_id=node_id,
                    current=route.current_allocations, target=target,
                )
        for node_id in sorted(set(assignment.routes) - set(targets)):
            if assignment.routes[node_id].routing_state != "stopping":
                self._drop_route(assignment, node_id, cause)
        assignment.max_assigned_allocations = max(
            assignment.max_assigned_allocations, sum(targets.values())
        )
        self._log_allocation_status(assignment, cause)
        self.reconcile(assignment)

    def reconcile(self, assignment: Assignment) -> None:
        """Resize started routes whose current ≠ target once no route is still starting."""
        if assignment.any_route("starting") or assignment.stopping:
            return
        for node_id, route in sorted(assignment.routes.items()):
            key = (assignment.deployment_id, node_id)
            wanted = route.target_allocations
            if route.routing_state != "started" or route.current_allocations == wanted:
                self._pending_resize.pop(key, None)
                continue
            if self._pending_resize.get(key) != wanted:
                self._pending_resize[key] = wanted
                self.state.nodes[node_id].resize(assignment.deployment_id, wanted)

    # -- stopping -------------------------------------------------------------------

    def begin_stop(self, assignment: Assignment, cause: str) -> None:
        """Mark stopping; running routes drain and stop, failed ones go at once."""
        self.before_change()
        assignment.stopping = True
        self.log.append("assignment_state", cause, deployment_id=assignment.deployment_id, state="stopping")
        for node_id, route in sorted(assignment.routes.items()):
            if route.routing_state == "failed":
                self._remove_route(assignment, node_id, cause)
            elif route.routing_state != "stopping":
                self._stop_route(assignment, node_id, cause)
        self._finish_stop_if_done(assignment, cause)

    def stop_routes_on(self, node_id: str, cause: str) -> None:
        """A node is shutting down: each of its routes drains and stops."""
        self.before_change()
        for assignment, route in list(self.state.routes_on(node_id)):
            if route.routing_state == "failed":
                self._remove_route(assignment, node_id, cause)
            elif route.routing_state != "stopping":
                self._stop_route(assignment, node_id, cause)

    def remove_all_assignments(self, cause: str) -> None:
        """Every deployment leaves the routing tables at once, as Elasticsearch's feature
        reset deletes the assignment metadata in one cluster-state update: no stopping
        state, no drain to wait for (nodes end the processes quietly), no re-plan."""
        self.before_change()
        for deployment_id in sorted(self.state.assignments):
            assignment = self.state.assignments[deployment_id]
            for node_id in sorted(assignment.routes):
                self._drop_route(assignment, node_id, cause)
            self._forget(assignment, cause)

    def forget_node(self, node_id: str, cause: str) -> None:
        """A node vanished: its routes go with it, without stopping."""
        self.before_change()
        for assignment, _ in list(self.state.routes_on(node_id)):
            self._remove_route(assignment, node_id, cause)
            self._finish_stop_if_done(assignment, cause)

    # -- what nodes report (nodes.node.RouteListener) -------------------------------

    def route_started(self, node_id: str, deployment_id: str) -> None:
        assignment = self._route_owner(node_id, deployment_id, "starting")
        if assignment is not None:
            self._set_state(assignment, node_id, "started", "", "model loaded")
            self.reconcile(assignment)

    def route_failed(self, node_id: str, deployment_id: str, reason: str) -> None:
        assignment = self._route_owner(node_id, deployment_id, "starting")
        if assignment is not None:
            self._set_state(assignment, node_id, "failed", reason, "model load failed")
            self.reconcile(assignment)

    def route_resized(self, node_id: str, deployment_id: str, allocations: int) -> None:
        self._pending_resize.pop((deployment_id, node_id), None)
        assignment = self._route_owner(node_id, deployment_id, "started")
        if assignment is None:
            return
        route = assignment.routes[node_id]
        route.current_allocations = allocations
        self.log.append(
            "route_current", "allocations applied", deployment_id=deployment_id, node_id=node_id,
            current=allocations, target=route.target_allocations,
        )
        self._log_allocation_status(assignment, "allocations applied")
        self.reconcile(assignment)

    def route_stopped(self, node_id: str, deployment_id: str) -> None:
        assignment = self._route_owner(node_id, deployment_id, "stopping")
        if assignment is None:
            return
        self._set_state(assignment, node_id, "stopped", "", "drained")
        self._remove_route(assignment, node_id, "drained")
        self._finish_stop_if_done(assignment, "drained")
        self.leave_if_drained(node_id)

    def leave_if_drained(self, node_id: str) -> None:
        """A leaving node whose last route has stopped leaves the cluster."""
        if node_id in self.state.leaving and next(self.state.routes_on(node_id), None) is None:
            self.state.leaving.discard(node_id)
            del self.state.nodes[node_id]
            self.log.append("node_left", "drained", node_id=node_id)

    # -- internals ------------------------------------------------------------------

    def _route_owner(self, node_id: str, deployment_id: str, expected_state: str) -> Assignment | None:
        assignment = self.state.assignments.get(deployment_id)
        if assignment is None:
            return None
        route = assignment.routes.get(node_id)
        if route is None or route.routing_state != expected_state:
            return None
        return assignment

    def _set_state(self, assignment: Assignment, node_id: str, state: str, reason: str, cause: str) -> None:
        route = assignment.routes[node_id]
        before = assignment.state
        route.routing_state = state  # type: ignore[assignment]
        route.reason = reason
        self.log.append(
            "routing_state", cause, deployment_id=assignment.deployment_id, node_id=node_id,
            state=state, reason=reason,
        )
        self._log_assignment_state(assignment, before, cause)

    def _log_assignment_state(self, assignment: Assignment, before: str, cause: str) -> None:
        if assignment.state != before:
            self.log.append("assignment_state", cause, deployment_id=assignment.deployment_id, state=assignment.state)
        self._log_allocation_status(assignment, cause)

    def _log_allocation_status(self, assignment: Assignment, cause: str) -> None:
        """`allocation_status.state` changes (starting / started / fully_allocated) go into the
        log, so recovery times are differences of log entries."""
        status = assignment.allocation_status()
        if self._logged_status.get(assignment.deployment_id) != status.state:
            self._logged_status[assignment.deployment_id] = status.state
            self.log.append(
                "allocation_status", cause, deployment_id=assignment.deployment_id, state=status.state,
                allocations=status.allocation_count, target=status.target_allocation_count,
            )

    def _load(self, assignment: Assignment, node_id: str) -> None:
        self.state.nodes[node_id].load(assignment.deployment_id, assignment.params.model_bytes)

    def _stop_route(self, assignment: Assignment, node_id: str, cause: str) -> None:
        self._set_state(assignment, node_id, "stopping", "", cause)
        self.state.nodes[node_id].stop(assignment.deployment_id)

    def _drop_route(self, assignment: Assignment, node_id: str, cause: str) -> None:
        """Out of the plan: off the table now; the node ends the process quietly."""
        self._remove_route(assignment, node_id, cause)
        node = self.state.nodes.get(node_id)
        if node is not None:
            node.stop(assignment.deployment_id)

    def _remove_route(self, assignment: Assignment, node_id: str, cause: str) -> None:
        before = assignment.state
        del assignment.routes[node_id]
        self._pending_resize.pop((assignment.deployment_id, node_id), None)
        self.log.append("route_removed", cause, deployment_id=assignment.deployment_id, node_id=node_id)
        self._log_assignment_state(assignment, before, cause)

    def _finish_stop_if_done(self, assignment: Assignment, cause: str) -> None:
        if assignment.stopping and not assignment.routes:
            self._forget(assignment, cause)
            self.rebalance("deployment removed")

    def _forget(self, assignment: Assignment, cause: str) -> None:
        del self.state.assignments[assignment.deployment_id]
        self._logged_status.pop(assignment.deployment_id, None)
        self.log.append("assignment_removed", cause, deployment_id=assignment.deployment_id)


def _targets_unchanged(assignment: Assignment, targets: dict[str, int]) -> bool:
    """The plan keeps this deployment's routing table as it is (no failed route to retry), so
    applying it would change nothing: most deployments of most plans."""
    if assignment.any_route("failed"):
        return False
    kept = {n: r.target_allocations for n, r in assignment.routes.items() if r.routing_state != "stopping"}
    return kept == targets
