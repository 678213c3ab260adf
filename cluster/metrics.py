"""What a report plots, observed without changing anything: every served request's outcome
and latency (through `Serving.observers`), and per-sample snapshots of deployments and nodes.

Latencies go into fixed log-spaced bins (2 % wide), so percentiles of any stretch of a run
cost a cumulative sum over a thousand counters and come out the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from nodes.inference_queue import BatchResult, InferenceQueue, Outcome

from .cluster import Cluster

#: Upper edges of the latency bins in milliseconds: 1 µs to about 3 hours, 2 % apart.
LATENCY_EDGES_MS = np.geomspace(1e-3, 1e7, int(np.log(1e10) / np.log(1.02)) + 1)
ROUTE_STATES = ("starting", "started", "stopping", "failed")
#: Bins per decade of `LATENCY_EDGES_MS` (evenly spaced in the logarithm), and the edges
#: between -inf and inf, so `latency_bins` can look one step either way from any bin.
_BINS_PER_DECADE = (LATENCY_EDGES_MS.size - 1) / np.log10(LATENCY_EDGES_MS[-1] / LATENCY_EDGES_MS[0])
_PADDED_EDGES = np.concatenate(([-np.inf], LATENCY_EDGES_MS, [np.inf]))
_OK, _CACHE_HIT, _ERROR, _REJECTED, _TIMEOUT = (int(o) for o in Outcome)


def latency_bins(latency_ms: np.ndarray) -> np.ndarray:
    """The bin of each (finite) latency: `np.searchsorted(LATENCY_EDGES_MS, latency_ms)`,
    to the bit, at a tenth of its cost on this many edges. The logarithm puts a latency
    in its bin or, within rounding of an edge, next to it; one step either way fixes that."""
    with np.errstate(divide="ignore"):  # a 0 ms cache hit: -inf, the first bin
        guess = np.log10(latency_ms)
    guess -= np.log10(LATENCY_EDGES_MS[0])
    guess *= _BINS_PER_DECADE
    np.clip(guess, 0, LATENCY_EDGES_MS.size, out=guess)
    index = np.ceil(guess).astype(np.intp)
    # searchsorted's bin i holds edges[i - 1] < x <= edges[i], i.e. padded[i] < x <= padded[i + 1]
    index -= _PADDED_EDGES[index] >= latency_ms
    index += _PADDED_EDGES[index + 1] < latency_ms
    return index


@dataclass(slots=True)
class RequestCounts:
    """Requests of one deployment over some stretch of time, by outcome, with latencies."""

    offered: int = 0
    completed: int = 0
    rejected: int = 0
    timed_out: int = 0
    errors: int = 0
    unrouted: int = 0
    latency_bins: np.ndarray = field(default_factory=lambda: np.zeros(LATENCY_EDGES_MS.size + 1, dtype=np.int64))

    def add(self, outcome: np.ndarray, latency_ms: np.ndarray) -> None:
        done = latency_ms if not outcome.any() else latency_ms[outcome <= _CACHE_HIT]
        self.add_binned(outcome, latency_bins(done))

    def add_binned(self, outcome: np.ndarray, bins: np.ndarray) -> None:
        """`add` with the completed requests' `latency_bins` already found."""
        self.offered += int(outcome.size)
        if not outcome.any():  # every request completed (the common case): no tally by kind
            self.completed += int(outcome.size)
        else:
            kinds = np.bincount(outcome.astype(np.int64), minlength=len(Outcome))
            self.completed += int(kinds[_OK] + kinds[_CACHE_HIT])
            self.rejected += int(kinds[_REJECTED])
            self.timed_out += int(kinds[_TIMEOUT])
            self.errors += int(kinds[_ERROR])
        if bins.size:
            self.latency_bins += np.bincount(bins, minlength=self.latency_bins.size)

    def add_unrouted(self, n: int) -> None:
        self.offered += n
        self.unrouted += n

    def merge(self, other: "RequestCounts") -> None:
        for name in ("offered", "completed", "rejected", "timed_out", "errors", "unrouted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency_bins += other.latency_bins

    def percentile_ms(self, q: float) -> float | None:
        """The upper edge of the bin holding the q-th percentile of completed requests'
        latency (None when none completed)."""
        return self.percentiles_ms((q,))[0]

    def percentiles_ms(self, qs: Sequence[float]) -> list[float | None]:
        """`percentile_ms` of each of `qs`, from one cumulative sum."""
        if not self.completed:  # every completed request has a latency bin, and only those
            return [None] * len(qs)
        cumulative = np.cumsum(self.latency_bins)
        total = int(cumulative[-1])
        if total == 0:
            return [None] * len(qs)
        ranks = [max(int(np.ceil(q / 100.0 * total)), 1) for q in qs]
        found = np.searchsorted(cumulative, ranks).tolist()
        return [float(LATENCY_EDGES_MS[min(index, LATENCY_EDGES_MS.size - 1)]) for index in found]

    @property
    def refused(self) -> int:
        """Requests answered with an error before any inference: 429s and no allocation."""
        return self.rejected + self.unrouted


class RequestTally:
    """Counts every request the cluster serves, per deployment, for the whole run and for
    the stretch since the last `take_interval`. Served arrays are kept as they come and
    counted once per interval (a window's routes are many small arrays)."""

    def __init__(self, cluster: Cluster) -> None:
        self._serving = cluster.serving
        self._unrouted_seen = dict(cluster.serving.unrouted)
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.total: dict[str, RequestCounts] = {}
        self.interval: dict[str, RequestCounts] = {}
        cluster.serving.observers.append(self._served)

    def _served(self, deployment_id: str, queue: InferenceQueue, result: BatchResult) -> None:
        self._pending.setdefault(deployment_id, []).append((result.outcome, (result.answered - result.arrivals) * 1000.0))

    def _fold(self) -> None:
        """Count what was served and refused since the last fold into both books."""
        for deployment_id, parts in sorted(self._pending.items()):
            counts = RequestCounts()
            if len(parts) == 1:
                counts.add(*parts[0])
            else:
                counts.add(np.concatenate([o for o, _ in parts]), np.concatenate([l for _, l in parts]))
            self._book(deployment_id, counts)
        self._pending = {}
        for deployment_id, n in sorted(self._serving.unrouted.items()):
            new = n - self._unrouted_seen.get(deployment_id, 0)
            if new:
                counts = RequestCounts()
                counts.add_unrouted(new)
                self._book(deployment_id, counts)
                self._unrouted_seen[deployment_id] = n

    def _book(self, deployment_id: str, counts: RequestCounts) -> None:
        self.total.setdefault(deployment_id, RequestCounts()).merge(counts)
        interval = self.interval.get(deployment_id)
        if interval is None:  # the first counts of an interval are its counts: no copy to add to
            self.interval[deployment_id] = counts
        else:
            interval.merge(counts)

    def take_interval(self) -> dict[str, RequestCounts]:
        """The counts since the previous call (call after `serving.sync()`)."""
        self._fold()
        interval, self.interval = self.interval, {}
        return interval

    def totals(self) -> dict[str, RequestCounts]:
        self._fold()
        return self.total


@dataclass(frozen=True, slots=True)
class DeploymentSample:
    target_allocations: int
    started_allocations: int
    routes: dict[str, int]
    #: The queues of its routes now, whose requests make its queue depth.
    queues: tuple[InferenceQueue, ...]


@dataclass(frozen=True, slots=True)
class NodeSample:
    memory_used: int
    memory_limit: int
    cores_used: int
    cores: int


def sample_deployments(cluster: Cluster) -> dict[str, DeploymentSample]:
    """Each deployment's allocations, routes by state and its routes' queues now."""
    state = cluster.state
    found = {}
    for deployment_id, assignment in sorted(state.assignments.items()):
        routes = dict.fromkeys(ROUTE_STATES, 0)
        queues = []
        for node_id, route in assignment.routes.items():
            routes[route.routing_state] = routes.get(route.routing_state, 0) + 1
            queue = cluster.serving.queue(node_id, deployment_id)
            if queue is not None:
                queues.append(queue)
        found[deployment_id] = DeploymentSample(
            assignment.params.number_of_allocations, assignment.allocation_status().allocation_count, routes,
            tuple(queues),
        )
    return found


def sample_nodes(cluster: Cluster) -> dict[str, NodeSample]:
    """Each node's model memory and cores in use, by name."""
    state = cluster.state
    found = {}
    for node_id, node in state.nodes.items():
        usage = state.usage(node_id)
        found[node.name] = NodeSample(
            state.model_memory_used(node_id), state.model_memory_pool(node_id), usage.cores_used, usage.cores
        )
    return found


def describe_counts(counts: RequestCounts) -> dict[str, Any]:
    """The summary's `requests` and `latency_ms` of a deployment."""
    return {
        "requests": {
            "offered": counts.offered,
            "completed": counts.completed,
            "rejected": counts.rejected,
            "timed_out": counts.timed_out,
            "errors": counts.errors,
            "unrouted": counts.unrouted,
        },
        "latency_ms": {f"p{q}": _round(counts.percentile_ms(q)) for q in (50, 95, 99)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
