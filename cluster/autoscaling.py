"""The 10 s tick: serves the traffic window, then runs adaptive allocations for each started
deployment that has them enabled, applying decisions through the deployment update path.
With `Serving.window_seconds` set and no adaptive deployment, the tick serves only when
`Serving.window_due` (nothing reads the queues between its syncs).

The tick runs only while something needs it (traffic or an adaptive deployment), so a
cluster without either keeps an empty event queue and `run_until` behaves as before.
"""

from __future__ import annotations

import math

import simpy

from .adaptive import TICK_SECONDS, AdaptiveScaler, AdaptiveSettings
from .assignment import Assignment
from .deployments import DeploymentService
from .errors import MlError, status_error
from .events import EventLog
from .serving import Serving
from .state import ClusterState
from .requests import UpdateRequest


class Autoscaler:
    def __init__(
        self, env: simpy.Environment, state: ClusterState, deployments: DeploymentService, serving: Serving, log: EventLog
    ) -> None:
        self.env = env
        self.state = state
        self.deployments = deployments
        self.serving = serving
        self.log = log
        self._scalers: dict[str, AdaptiveScaler] = {}
        #: Per (deployment, node): the queue seen last tick and its (requests, inferences, ms).
        self._last: dict[tuple[str, str], tuple[object, int, int, float]] = {}
        self._last_tick: dict[str, float] = {}
        self._ticking = False

    # -- the tick -------------------------------------------------------------------

    def ensure_ticking(self) -> None:
        """Start the tick if something needs it and it is not running."""
        if not self._ticking and self._needed():
            self._ticking = True
            self.env.process(self._run())

    def _needed(self) -> bool:
        if self.serving.has_traffic:
            return True
        for assignment in self.state.assignments.values():  # `_enabled` inlined: called per change
            adaptive = assignment.adaptive_allocations
            if adaptive and adaptive.get("enabled"):
                return True
        return False

    def _run(self):
        while self._needed():
            next_tick = (math.floor(self.env.now / TICK_SECONDS) + 1) * TICK_SECONDS
            yield self.env.timeout(next_tick - self.env.now)
            self.tick()
        self._ticking = False

    def tick(self) -> None:
        adaptive = [a for _, a in sorted(self.state.assignments.items()) if _enabled(a)]
        if adaptive or self.serving.window_due():
            self.serving.sync()
        now = self.env.now
        for assignment in adaptive:
            # like ES, which scales from node stats: no route, nothing to scale (from zero: `wake`)
            if assignment.state == "started" and assignment.routes:
                self._scale(assignment, now)
        for gone in [d for d in self._scalers if not _enabled(self.state.assignments.get(d))]:
            del self._scalers[gone]

    # -- adaptive allocations -------------------------------------------------------

    def _scaler(self, assignment: Assignment, now: float) -> AdaptiveScaler:
        settings = self._settings(assignment)
        scaler = self._scalers.get(assignment.deployment_id)
        if scaler is None:
            scaler = self._scalers[assignment.deployment_id] = AdaptiveScaler(settings, now)
            self._last_tick[assignment.deployment_id] = now
        scaler.settings = settings
        return scaler

    def _settings(self, assignment: Assignment) -> AdaptiveSettings:
        adaptive = assignment.adaptive_allocations or {}
        settings = self.state.settings
        return AdaptiveSettings(
            min_allocations=adaptive.get("min_number_of_allocations"),
            max_allocations=adaptive.get("max_number_of_allocations"),
            cooldown_seconds=settings.adaptive_cooldown_seconds,
            scale_to_zero_seconds=settings.adaptive_scale_to_zero_seconds,
        )

    def _scale(self, assignment: Assignment, now: float) -> None:
        deployment_id = assignment.deployment_id
        scaler = self._scaler(assignment, now)
        requests, inferences, ms = self._deltas(assignment)
        dt = now - self._last_tick[deployment_id]
        self._last_tick[deployment_id] = now
        scaler.observe(now, dt, requests, inferences, ms / inferences if inferences else None)
        current = assignment.params.number_of_allocations
        wanted = scaler.decide(now, current, self._observed_scale_up(assignment, now))
        if wanted is not None:
            self._apply(deployment_id, wanted, "adaptive allocations")

    def _observed_scale_up(self, assignment: Assignment, now: float) -> bool:
        """A route still starting, or one that started within the cooldown: a scale-up
        this scaler did not make (a new node, another caller's update) also holds off
        scaling down."""
        cooldown = self.state.settings.adaptive_cooldown_seconds
        for node_id, route in assignment.routes.items():
            queue = self.serving.queue(node_id, assignment.deployment_id)
            if route.routing_state == "starting" or (queue is not None and now < queue.start_time + cooldown):
                return True
        return False

    def _deltas(self, assignment: Assignment) -> tuple[int, int, float]:
        """Requests (answered, failed, rejected, timed out, plus the change in pending),
        inferences and their ms since the last tick, summed over the started routes; a
        new route's queue counts from zero."""
        requests = inferences = 0
        ms = 0.0
        for node_id, route in sorted(assignment.routes.items()):
            queue = self.serving.queue(node_id, assignment.deployment_id)
            if queue is None or route.routing_state != "started":
                continue
            s = queue.stats()
            total = (s.inference_count + s.error_count + s.rejected_execution_count + s.timeout_count
                     + s.number_of_pending_requests)
            key = (assignment.deployment_id, node_id)
            seen, r0, i0, ms0 = self._last.get(key, (None, 0, 0, 0.0))
            if seen is not queue:
                r0, i0, ms0 = 0, 0, 0.0
            self._last[key] = (queue, total, s.inference_count, s.inference_time_ms_sum)
            requests += total - r0
            inferences += s.inference_count - i0
            ms += s.inference_time_ms_sum - ms0
        return max(requests, 0), inferences, ms

    def _apply(self, deployment_id: str, allocations: int, cause: str) -> None:
        try:
            self.deployments.update(UpdateRequest(deployment_id, number_of_allocations=allocations, allow_zero=True))
        except MlError as error:
            self.log.append("adaptive_scale_refused", cause, deployment_id=deployment_id, reason=error.reason)

    def wake(self, name: str) -> None:
        """An `_infer` on an adaptive deployment scaled to zero: scale it to one
        allocation and refuse this request with ES's 409 (the client retries)."""
        assignment = self.state.assignments.get(name)
        if assignment is None:
            model_id = self.state.resolve_model_id(name)
            assignment = next(iter(self.state.deployments_of(model_id)), None) if model_id else None
        if assignment is None or not _enabled(assignment) or assignment.params.number_of_allocations > 0:
            return
        now = self.env.now
        self._scalers[assignment.deployment_id] = scaler = AdaptiveScaler(self._settings(assignment), now)
        self._last_tick[assignment.deployment_id] = now
        scaler.note_scale_up(now)
        self._apply(assignment.deployment_id, 1, "infer on zero allocations")
        raise status_error(
            409,
            f"Trained model deployment [{assignment.deployment_id}] is not allocated to any nodes; "
            "starting deployment of one allocation",
        )


def _enabled(assignment: Assignment | None) -> bool:
    return bool(assignment and (assignment.adaptive_allocations or {}).get("enabled"))
