"""Inference traffic through the routes' queues: opening a started route's queue, cutting
time into windows, routing each window's requests across started routes, and `_infer`
requests as tickets answered in simulated time.

Every queue is brought to `now` (with the traffic of the window fed in) before anything
changes a route, reads stats or routes a request, so each request meets the allocations
that were current when it arrived. A `_infer` request arriving at t is served in the
window that closes `TICKET_WINDOW_SECONDS` later (the queue engine takes arrivals in
[start, end) windows), then its answer is an event at its answer time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np
import simpy

from nodes.inference_queue import REJECTED_REASON, Batch, BatchResult, InferenceQueue, Outcome, run_together
from nodes.service_model import InferenceProfile

from .errors import MlError, status_error
from .events import EventLog
from .inference import not_allocated
from .routing import split_by_allocations
from .state import ClusterState
from .timevalue import format_time_value
from .traffic import MAX_RATE, TrafficProfile, check_peak_rate

#: How long after its arrival an `_infer` request's window closes (1 µs).
TICKET_WINDOW_SECONDS = 1e-6
#: Bytes of cache one cached result takes: `cache_size` / this = cached entries.
CACHE_ENTRY_BYTES = 4096
#: Model metadata key holding `InferenceProfile` fields for that model.
PROFILE_METADATA_KEY = "mlsim_inference_profile"

#: Most requests the traffic's peak rates may draw in one window that `window_due` lets
#: grow past a tick: what a 10 s window draws at `traffic.MAX_RATE`.
MAX_WINDOW_REQUESTS = 10 * MAX_RATE

#: Outcome members by value (`Outcome(int(o))`, without the enum call per request).
_OUTCOMES = tuple(Outcome)

#: Hears every served request: (deployment id, the route's queue, what one route's share of
#: a window got), for metrics; nothing the simulation needs.
ServedObserver = Callable[[str, InferenceQueue, BatchResult], None]
#: Hears the requests that found no route: (deployment id, their arrival times).
UnroutedObserver = Callable[[str, np.ndarray], None]


@dataclass(slots=True)
class Ticket:
    """One `_infer` document: its arrival, cache key and timeout, then its outcome
    (none if no route could take it when its window closed)."""

    deployment_id: str
    arrival: float
    key: Hashable
    timeout: float
    outcome: Outcome | None = None
    answered: float | None = None


class Serving:
    """The cluster side of serving (implements `nodes.node.RouteServing`)."""

    def __init__(self, env: simpy.Environment, state: ClusterState, log: EventLog, rng: np.random.Generator) -> None:
        self.env = env
        self.state = state
        self.log = log
        self._rng = rng
        self._traffic: dict[str, list[TrafficProfile]] = {}
        self._drawn_until: dict[str, float] = {}
        self._tickets: dict[str, list[Ticket]] = {}
        self._next_key = 0
        #: The instant of the last full `sync`: nothing can be due again before time moves.
        self._synced_at = -math.inf
        #: The arrival instant whose tickets' close event is pending, that event, and the
        #: tickets of each request arriving then.
        self._closing: tuple[float, simpy.Event, list[list[Ticket]]] | None = None
        #: Requests that found no started route, by deployment (traffic and tickets).
        self.unrouted: dict[str, int] = {}
        self.observers: list[ServedObserver] = []
        self.unrouted_observers: list[UnroutedObserver] = []
        #: How long the tick may leave traffic unserved when nothing else needs the queues
        #: at now (see `window_due`): 0 serves every tick, which stats readers and adaptive
        #: allocations need; a scenario run, which fills its samples in from arrival and
        #: leave times, sets more, so each route pays its per-batch cost less often.
        self.window_seconds = 0.0

    # -- queues (called by nodes) ---------------------------------------------------

    def open_queue(self, node_id: str, deployment_id: str) -> InferenceQueue | None:
        assignment = self.state.assignments.get(deployment_id)
        route = assignment.routes.get(node_id) if assignment else None
        if route is None:
            return None
        p = assignment.params
        return InferenceQueue(
            self.profile(p.model_id),
            self._rng.spawn(1)[0],
            allocations=route.current_allocations,
            threads_per_allocation=p.threads_per_allocation,
            queue_capacity=p.queue_capacity,
            cache_entries=(p.cache_size or 0) // CACHE_ENTRY_BYTES,
            start_time=self.env.now,
        )

    def profile(self, model_id: str) -> InferenceProfile:
        """The model's `mlsim_inference_profile` metadata, else the cluster default."""
        default = self.state.settings.inference_profile
        model = self.state.models.get(model_id)
        fields = model.metadata.get(PROFILE_METADATA_KEY) if model else None
        if fields is None:
            return default
        try:
            return InferenceProfile(**fields)
        except (TypeError, ValueError) as exc:
            self.log.append("inference_profile_invalid", "route started", model_id=model_id, reason=str(exc))
            return default

    def queue(self, node_id: str, deployment_id: str) -> InferenceQueue | None:
        node = self.state.nodes.get(node_id)
        return node.queues.get(deployment_id) if node else None

    # -- traffic --------------------------------------------------------------------

    def add_traffic(self, deployment_id: str, profile: TrafficProfile) -> None:
        """Requests drawn from `profile` (times in simulated seconds) from now on; ValueError
        if the deployment's traffic would go over `traffic.MAX_RATE`."""
        check_peak_rate(self._traffic.get(deployment_id, []), profile)
        self.sync()
        self._traffic.setdefault(deployment_id, []).append(profile)
        self._drawn_until.setdefault(deployment_id, self.env.now)

    def remove_traffic(self, deployment_id: str) -> int:
        """Stop drawing requests for `deployment_id` (after serving those drawn up to now);
        how many profiles it had."""
        self.sync()
        self._drawn_until.pop(deployment_id, None)
        return len(self._traffic.pop(deployment_id, []))

    def profile_counts(self) -> dict[str, int]:
        """How many traffic profiles each deployment has."""
        return {deployment_id: len(profiles) for deployment_id, profiles in self._traffic.items()}

    @property
    def has_traffic(self) -> bool:
        return bool(self._traffic)

    @property
    def synced_at(self) -> float:
        """The instant every window was last served up to (-inf before the first)."""
        return self._synced_at

    def window_due(self) -> bool:
        """Whether the tick must serve now: `window_seconds` have passed since the last
        sync, or the traffic could have drawn `MAX_WINDOW_REQUESTS` since."""
        elapsed = self.env.now - self._synced_at
        if elapsed >= self.window_seconds:
            return True
        peak = sum(p.peak_rate for profiles in self._traffic.values() for p in profiles)
        return elapsed * peak >= MAX_WINDOW_REQUESTS

    def submit(self, deployment_id: str, keys: Sequence[Hashable], timeout: float) -> list[Ticket]:
        """Queue one request per key at now; their window closes an instant later."""
        now = self.env.now
        tickets = [Ticket(deployment_id, now, key, timeout) for key in keys]
        self._tickets.setdefault(deployment_id, []).extend(tickets)
        closing = self._closing
        if closing is None or closing[0] != now or closing[1].callbacks is None:
            # One close event per arrival instant serves every request arriving then (a
            # window is served once per instant anyway); it is done once processed.
            event = self.env.timeout(TICKET_WINDOW_SECONDS)
            groups: list[list[Ticket]] = []
            event.callbacks.append(lambda _: self._close_ticket_window(groups))
            closing = self._closing = (now, event, groups)
        closing[2].append(tickets)
        return tickets

    def answered(self, tickets: Sequence[Ticket]) -> bool:
        return all(t.answered is not None and t.answered <= self.env.now for t in tickets)

    def _close_ticket_window(self, groups: list[list[Ticket]]) -> None:
        """Serve the window, then put an event at each request's answer (its last
        document's), for the clock to stop at; requests answered together share one."""
        self.sync()
        now = self.env.now
        delays = {
            max(max((t.answered for t in tickets if t.answered is not None), default=now) - now, 0.0)
            for tickets in groups
        }
        for delay in sorted(delays):
            self.env.timeout(delay)

    # -- windows --------------------------------------------------------------------

    def up_to_date(self) -> bool:
        """True when `sync()` now would change nothing: it already ran at this instant and
        no stopped deployment's traffic is left to drop (so a read that syncs need not be
        journaled)."""
        return self._synced_at == self.env.now and all(d in self.state.assignments for d in self._traffic)

    def sync(self) -> None:
        """Serve every window up to now, then bring every queue to now.

        Routes whose share of the window holds no `_infer` ticket are served together
        (`run_together` solves many routes in one pass); each queue draws from its own
        generator, so that changes no result. A second call at the same instant has nothing
        to serve: tickets and traffic arriving now fall in the next window, and a queue
        opened now starts at now.
        """
        now = self.env.now
        if now != self._synced_at:  # at the same instant again: no arrival is before now
            self._synced_at = now
            batches: list[Batch] = []
            owners: list[str] = []
            for deployment_id in sorted(set(self._traffic) | set(self._tickets)):
                served = self._serve_window(deployment_id, now)
                batches += served
                owners += [deployment_id] * len(served)
            results = run_together(batches)
            for deployment_id, batch, result in zip(owners, batches, results):
                self._notify(deployment_id, batch.queue, result)
            for node_id in sorted(self.state.nodes):
                for queue in self.state.nodes[node_id].queues.values():
                    if queue.now < now:
                        queue.advance(now)
        for deployment_id in [d for d in self._traffic if d not in self.state.assignments]:
            del self._traffic[deployment_id], self._drawn_until[deployment_id]

    def _serve_window(self, deployment_id: str, now: float) -> list[Batch]:
        """Route a deployment's window; serve the routes that got tickets, return the
        others' batches."""
        t0 = self._drawn_until.get(deployment_id, now)
        parts = [p.arrivals(self._rng, t0, now) for p in self._traffic.get(deployment_id, [])] if now > t0 else []
        if deployment_id in self._drawn_until:
            self._drawn_until[deployment_id] = now
        waiting = self._tickets.get(deployment_id, [])
        due = [t for t in waiting if t.arrival < now]
        if waiting:
            self._tickets[deployment_id] = [t for t in waiting if t.arrival >= now]
            if not self._tickets[deployment_id]:
                del self._tickets[deployment_id]
        traffic = (np.asarray(parts[0], dtype=float) if len(parts) == 1 else np.concatenate(parts)) if parts else np.empty(0)
        if not due:
            if not traffic.size:
                return []
            targets = self._targets(deployment_id)
            if not any(q.caches for q in targets.values()):
                return self._traffic_batches(deployment_id, traffic, targets, now)
        times = np.concatenate((traffic, [t.arrival for t in due]))
        if not times.size:
            return []
        targets = self._targets(deployment_id)
        keys = np.empty(times.size, dtype=object)
        if any(q.caches for q in targets.values()):
            keys[: traffic.size] = np.arange(self._next_key, self._next_key + traffic.size)  # never hit
            self._next_key += traffic.size
        keys[traffic.size :] = [t.key for t in due]
        timeouts = np.concatenate((np.full(traffic.size, math.nan), [t.timeout for t in due]))
        if traffic.size:
            order = np.argsort(times, kind="stable")
            times, keys, timeouts = times[order], keys[order], timeouts[order]
            position = np.empty_like(order)
            position[order] = np.arange(order.size)
            ticket_at = {int(position[traffic.size + i]): t for i, t in enumerate(due)}
        else:  # tickets alone are in arrival order already (submitted as time moves on)
            ticket_at = dict(enumerate(due))
        if not targets:
            self._unrouted(deployment_id, times)
            for ticket in due:
                ticket.answered = ticket.arrival
            return []
        split = split_by_allocations(times.size, {n: q.allocations for n, q in targets.items()}, self._rng)
        batches = []
        for node_id, index in sorted(split.items()):
            queue = targets[node_id]
            if np.isnan(timeouts[index]).all():  # traffic only
                arrivals = np.maximum(times[index], queue.now)
                batches.append(Batch(queue, arrivals, max(now, queue.now), list(keys[index]) if queue.caches else None))
                continue
            result = _serve(queue, times[index], keys[index], timeouts[index], now)
            self._notify(deployment_id, queue, result)
            outcome, answered = result.outcome.tolist(), result.answered.tolist()
            for j, i in enumerate(index.tolist()):
                ticket = ticket_at.get(i)
                if ticket is not None:
                    ticket.outcome, ticket.answered = _OUTCOMES[outcome[j]], answered[j]
        return batches

    def _traffic_batches(
        self, deployment_id: str, traffic: np.ndarray, targets: dict[str, InferenceQueue], now: float
    ) -> list[Batch]:
        """`_serve_window`'s common case, in fewer steps (same draws, same batches): only
        drawn traffic, no route caching."""
        if len(self._traffic[deployment_id]) > 1:
            traffic = traffic[np.argsort(traffic, kind="stable")]
        if not targets:
            self._unrouted(deployment_id, traffic)
            return []
        split = split_by_allocations(traffic.size, {n: q.allocations for n, q in targets.items()}, self._rng)
        batches = []
        for node_id, index in sorted(split.items()):
            queue = targets[node_id]
            batches.append(Batch(queue, np.maximum(traffic[index], queue.now), max(now, queue.now)))
        return batches

    def _notify(self, deployment_id: str, queue: InferenceQueue, result: BatchResult) -> None:
        for observer in self.observers:
            observer(deployment_id, queue, result)

    def _unrouted(self, deployment_id: str, arrivals: np.ndarray) -> None:
        self.unrouted[deployment_id] = self.unrouted.get(deployment_id, 0) + arrivals.size
        for observer in self.unrouted_observers:
            observer(deployment_id, arrivals)

    def _targets(self, deployment_id: str) -> dict[str, InferenceQueue]:
        """Queues of started routes with allocations; else of draining ones (ES serves
        from stopping routes too)."""
        assignment = self.state.assignments.get(deployment_id)
        if assignment is None:
            return {}
        for states in (("started",), ("stopping",)):
            found = {
                node_id: queue
                for node_id, route in sorted(assignment.routes.items())
                if route.routing_state in states
                and (queue := self.queue(node_id, deployment_id)) is not None
                and queue.allocations > 0
            }
            if found:
                return found
        return {}


def _serve(queue: InferenceQueue, times: np.ndarray, keys: np.ndarray, timeouts: np.ndarray, until: float) -> BatchResult:
    """Run one route's share of a window; each ticket (a finite timeout) runs in a batch
    of its own instant so its timeout applies to it alone."""
    arrivals = times
    times = np.maximum(times, queue.now)
    outcome = np.empty(times.size, dtype=np.int8)
    started = np.empty(times.size)
    answered = np.empty(times.size)
    out = (outcome, started, answered)
    start = 0
    for at in sorted(set(times[~np.isnan(timeouts)].tolist())):
        lo, hi = np.searchsorted(times, at, "left"), np.searchsorted(times, at, "right")
        _run(queue, times, keys, start, lo, at, None, out)
        timeout = min(t for t in timeouts[lo:hi].tolist() if t == t)  # np.nanmin, without numpy
        _run(queue, times, keys, lo, hi, float(np.nextafter(at, math.inf)), timeout, out)
        start = hi
    _run(queue, times, keys, start, times.size, max(until, queue.now), None, out)
    return BatchResult(arrivals, outcome, started, answered)


def _run(queue, times, keys, lo: int, hi: int, until: float, timeout: float | None, out) -> None:
    if lo == hi:  # what `queue.run` does with no arrivals, without building the empty batch
        queue.advance(until)
        return
    result = queue.run(times[lo:hi], until, keys=list(keys[lo:hi]), timeout_seconds=timeout)
    out[0][lo:hi], out[1][lo:hi], out[2][lo:hi] = result.outcome, result.started, result.answered


def ticket_error(tickets: Sequence[Ticket], timeout: float) -> MlError | None:
    """The error `_infer` answers with when any document was not inferred (first by kind:
    no route left, rejected, timed out, failed), or None."""
    if all(t.outcome is Outcome.OK or t.outcome is Outcome.CACHE_HIT for t in tickets):
        return None  # the usual answer, without hashing enum members (a Python-level hash)
    outcomes = {t.outcome for t in tickets}
    if None in outcomes:  # every route went away between the request and its window
        return not_allocated(tickets[0].deployment_id)
    if Outcome.REJECTED in outcomes:
        return status_error(429, REJECTED_REASON)
    if Outcome.TIMEOUT in outcomes:
        return status_error(408, f"timeout [{format_time_value(timeout)}] waiting for inference result")
    if Outcome.ERROR in outcomes:
        return status_error(500, "inference process failed (simulated error)")
    return None
