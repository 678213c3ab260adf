"""One simulated ML node: the simpy processes that load, resize and stop model routes.

The node owns no routing state: the cluster's routing table is the one truth. The node
only runs the work a route needs, serves each started route from its inference queue,
and reports the outcome to the listener it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import simpy

from .inference_queue import InferenceQueue
from .resources import NodeSpec
from .timing import NodeTiming


class RouteListener(Protocol):
    """Receives what happened to a route on a node (implemented by the cluster)."""

    def route_started(self, node_id: str, deployment_id: str) -> None: ...

    def route_failed(self, node_id: str, deployment_id: str, reason: str) -> None: ...

    def route_resized(self, node_id: str, deployment_id: str, allocations: int) -> None: ...

    def route_stopped(self, node_id: str, deployment_id: str) -> None: ...


class RouteServing(Protocol):
    """Builds a started route's queue, and serves traffic up to now before a queue changes
    (so arrivals before a resize or stop meet the old allocations)."""

    def sync(self) -> None: ...

    def open_queue(self, node_id: str, deployment_id: str) -> InferenceQueue | None: ...


@dataclass(slots=True)
class InjectedFailure:
    """A load failure waiting to happen: for one deployment (or any) a number of times."""

    reason: str
    deployment_id: str | None
    remaining: int


class MlNode:
    """A node that runs routes; at most one process per deployment at a time."""

    def __init__(
        self,
        env: simpy.Environment,
        node_id: str,
        spec: NodeSpec,
        timing: NodeTiming,
        listener: RouteListener,
        serving: RouteServing | None = None,
    ) -> None:
        self.env = env
        self.id = node_id
        self.spec = spec
        self.timing = timing
        self._listener = listener
        self._work: dict[str, simpy.Process] = {}
        self._failures: list[InjectedFailure] = []
        self._serving = serving
        #: The inference queue of each started (or draining) route, by deployment id.
        self.queues: dict[str, InferenceQueue] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    def inject_load_failure(self, reason: str, deployment_id: str | None = None, times: int = 1) -> None:
        """Make the next `times` loads (of `deployment_id`, or of any model) fail with `reason`."""
        if times < 1:
            raise ValueError("[times] must be a positive integer")
        self._failures.append(InjectedFailure(reason, deployment_id, times))

    def load(self, deployment_id: str, model_bytes: int) -> None:
        """Start loading a model; reports started or failed when done."""
        self._replace(deployment_id, self._load(deployment_id, model_bytes))

    def resize(self, deployment_id: str, allocations: int) -> None:
        """Change the number of allocations of a running process."""
        self._replace(deployment_id, self._resize(deployment_id, allocations))

    def stop(self, deployment_id: str) -> None:
        """Drain the route's queue, stop the process and report stopped."""
        self._replace(deployment_id, self._stop(deployment_id))

    def crash(self) -> None:
        """Everything on the node ends at once; nothing is reported."""
        for process in list(self._work.values()):
            if process.is_alive:
                process.interrupt("crash")
        self._work.clear()
        if self._serving is not None:
            self._serving.sync()
        self.queues.clear()

    def _replace(self, deployment_id: str, generator) -> None:
        running = self._work.get(deployment_id)
        if running is not None and running.is_alive:
            running.interrupt("superseded")
        self._work[deployment_id] = self.env.process(generator)

    def _take_failure(self, deployment_id: str) -> str | None:
        for failure in self._failures:
            if failure.deployment_id in (None, deployment_id):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return failure.reason
        return None

    def _finish(self, deployment_id: str) -> None:
        if self._work.get(deployment_id) is self.env.active_process:
            del self._work[deployment_id]

    def _load(self, deployment_id: str, model_bytes: int):
        try:
            yield self.env.timeout(self.timing.load_seconds(model_bytes))
        except simpy.Interrupt:
            return
        self._finish(deployment_id)
        reason = self._take_failure(deployment_id)
        if reason is None:
            if self._serving is not None:
                self._serving.sync()
                queue = self._serving.open_queue(self.id, deployment_id)
                if queue is not None:
                    self.queues[deployment_id] = queue
            self._listener.route_started(self.id, deployment_id)
        else:
            self._listener.route_failed(self.id, deployment_id, reason)

    def _resize(self, deployment_id: str, allocations: int):
        try:
            yield self.env.timeout(self.timing.resize_seconds)
        except simpy.Interrupt:
            return
        self._finish(deployment_id)
        queue = self.queues.get(deployment_id)
        if queue is not None:
            self._serving.sync()
            queue.resize(allocations)
        self._listener.route_resized(self.id, deployment_id, allocations)

    def _stop(self, deployment_id: str):
        """Drain first: wait until the queue's accepted work has left (it may still grow
        while no started route is left to take traffic), then stop the process."""
        try:
            queue = self.queues.get(deployment_id)
            while queue is not None and queue.idle_at() > self.env.now:
                yield self.env.timeout(queue.idle_at() - self.env.now)
            yield self.env.timeout(self.timing.stop_seconds)
        except simpy.Interrupt:
            return
        self._finish(deployment_id)
        if queue is not None:
            self._serving.sync()
            self.queues.pop(deployment_id, None)
        self._listener.route_stopped(self.id, deployment_id)
