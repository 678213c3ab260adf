"""Request counts and queue depth per sample instant, filled in once serving has passed the
instant, so traffic can be served in windows much longer than the sample interval
(`Serving.window_seconds`), which is where a long run's time went.

What an instant s gets is what a sync at s would have shown: the requests that arrived
in [previous instant, s) with their outcomes and latencies, and the queue depth at s:
requests that arrived before s and leave after it (`BatchResult.leaves`), on the queues
the deployment's routes had at s (a crashed node's requests stop counting with it).
Observed without changing anything; memory holds only what is not yet closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from nodes.inference_queue import BatchResult, InferenceQueue, Outcome

from .metrics import LATENCY_EDGES_MS, RequestCounts, latency_bins
from .serving import Serving

_OK, _CACHE_HIT, _ERROR, _REJECTED, _TIMEOUT = (int(o) for o in Outcome)
#: Latency bins per interval (the keys of the sort that finds every interval's percentiles).
_BINS = LATENCY_EDGES_MS.size + 1


@dataclass(frozen=True, slots=True)
class Interval:
    """One deployment at one sample instant: the requests since the previous instant
    (p50/p99 as `RequestCounts.percentiles_ms` gives them) and its queue depth then."""

    offered: int
    completed: int
    rejected: int
    timed_out: int
    unrouted: int
    p50_ms: float | None
    p99_ms: float | None
    queue_depth: int


_IDLE = Interval(0, 0, 0, 0, 0, None, None, 0)


class IntervalSeries:
    """Listens to `serving`; `mark` each sample instant with the deployments' queues then,
    and `close` the instants serving has passed; `totals` holds every closed request."""

    def __init__(self, serving: Serving) -> None:
        self.totals: dict[str, RequestCounts] = {}
        #: Per deployment: (arrivals, outcomes, latency ms) not yet in a closed interval.
        self._served: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self._unrouted: dict[str, list[np.ndarray]] = {}
        #: Per queue: (arrivals, leaves) of requests that may still be pending at an open instant.
        self._held: dict[InferenceQueue, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._marks: list[tuple[float, Mapping[str, Sequence[InferenceQueue]]]] = []
        self._last_mark = -math.inf
        serving.observers.append(self._on_served)
        serving.unrouted_observers.append(self._on_unrouted)

    def _on_served(self, deployment_id: str, queue: InferenceQueue, result: BatchResult) -> None:
        a = result.arrivals
        if a.size:
            self._served.setdefault(deployment_id, []).append((a, result.outcome, (result.answered - a) * 1000.0))
            self._held.setdefault(queue, []).append((a, result.leaves))

    def _on_unrouted(self, deployment_id: str, arrivals: np.ndarray) -> None:
        if arrivals.size:
            self._unrouted.setdefault(deployment_id, []).append(arrivals)

    def mark(self, at: float, queues: Mapping[str, Sequence[InferenceQueue]]) -> None:
        """A sample instant (not before the previous one: a request action that waits can
        leave two samples at one instant, the second then gets no requests) and each
        deployment's queues at it; every deployment named gets an interval."""
        if at < self._last_mark:
            raise ValueError("sample instants must not go back")
        self._last_mark = at
        self._marks.append((at, queues))

    def close(self, served_until: float) -> list[tuple[float, dict[str, Interval]]]:
        """The marked instants up to `served_until` (every window served up to there), in
        order, each with its deployments' intervals (sorted by deployment id)."""
        m = 0
        while m < len(self._marks) and self._marks[m][0] <= served_until:
            m += 1
        if not m:
            return []
        marks, self._marks = self._marks[:m], self._marks[m:]
        instants = np.array([at for at, _ in marks])
        counts = self._bin(instants)
        depths = self._depths(instants)
        closed: list[tuple[float, dict[str, Interval]]] = []
        k = 0
        while k < m:  # a run of instants marked with the same queues (a caller re-reads them after a change)
            queues = marks[k][1]
            end = k + 1
            while end < m and marks[end][1] is queues:
                end += 1
            named = sorted(queues)
            depth = {d: _sum_depths(depths, qs, k, end) for d, qs in queues.items()}
            others = [d for d in counts if d not in queues]
            for j in range(k, end):
                found: dict[str, Interval] = {}
                for deployment_id in named if not others else sorted([*named, *(d for d in others if counts[d][0][j])]):
                    c = counts.get(deployment_id)
                    queued = depth[deployment_id][j - k] if deployment_id in depth else 0
                    if c is None:
                        found[deployment_id] = Interval(0, 0, 0, 0, 0, None, None, queued) if queued else _IDLE
                    else:
                        found[deployment_id] = Interval(
                            c[0][j], c[1][j], c[2][j], c[3][j], c[4][j], c[5][j], c[6][j], queued
                        )
                closed.append((marks[j][0], found))
            k = end
        return closed

    def _bin(self, instants: np.ndarray) -> dict[str, tuple[list, ...]]:
        """Per deployment, per instant: offered, completed, rejected, timed out, unrouted,
        p50 and p99 of the requests that arrived before it and after the previous one;
        the closed requests go into `totals` too."""
        m = instants.size
        found: dict[str, tuple[list, ...]] = {}
        for deployment_id in sorted({*self._served, *self._unrouted}):
            parts = self._served.pop(deployment_id, [])
            total = self.totals.setdefault(deployment_id, RequestCounts())
            offered = np.zeros(m, dtype=np.int64)
            completed, rejected, timed_out = offered.copy(), offered.copy(), offered.copy()
            p50: list[float | None] = [None] * m
            p99: list[float | None] = [None] * m
            if parts:
                a, o, latency = (np.concatenate(c) if len(parts) > 1 else c[0] for c in zip(*parts))
                index = np.searchsorted(instants, a, side="right")
                later = index == m
                if later.any():  # arrived after the last instant closed: the next close's
                    self._served[deployment_id] = [(a[later], o[later], latency[later])]
                    early = ~later
                    index, o, latency = index[early], o[early], latency[early]
                offered += np.bincount(index, minlength=m)
                if o.any():
                    done = o <= _CACHE_HIT
                    completed += np.bincount(index[done], minlength=m)
                    rejected += np.bincount(index[o == _REJECTED], minlength=m)
                    timed_out += np.bincount(index[o == _TIMEOUT], minlength=m)
                    index, latency = index[done], latency[done]
                else:
                    completed += offered
                bins = latency_bins(latency)
                total.add_binned(o, bins)
                p50, p99 = _percentiles(index, bins, completed, (50, 99))
            unrouted = np.zeros(m, dtype=np.int64)
            times = self._unrouted.pop(deployment_id, [])
            if times:
                u = np.concatenate(times)
                index = np.searchsorted(instants, u, side="right")
                later = index == m
                if later.any():
                    self._unrouted[deployment_id] = [u[later]]
                    index = index[~later]
                unrouted += np.bincount(index, minlength=m)
                total.add_unrouted(int(index.size))
            offered += unrouted
            found[deployment_id] = (
                offered.tolist(), completed.tolist(), rejected.tolist(), timed_out.tolist(), unrouted.tolist(), p50, p99
            )
        return found

    def _depths(self, instants: np.ndarray) -> dict[InferenceQueue, np.ndarray]:
        """Per queue, per instant s: its requests with arrival < s < leave; keeps the ones
        that may still be pending at a later instant."""
        m, last = instants.size, instants[-1]
        found = {}
        for queue, parts in list(self._held.items()):
            a, leaves = (np.concatenate(c) if len(parts) > 1 else c[0] for c in zip(*parts))
            first = np.searchsorted(instants, a, side="right")  # the first instant after the arrival
            end = np.searchsorted(instants, leaves, side="left")  # the first at or after the leave
            spans = first < end
            if spans.any():
                steps = np.bincount(first[spans], minlength=m + 1) - np.bincount(end[spans], minlength=m + 1)
                found[queue] = np.cumsum(steps[:m])
            stays = leaves > last
            if stays.any():
                self._held[queue] = [(a[stays], leaves[stays])]
            else:
                del self._held[queue]
        return found


def _sum_depths(depths: dict[InferenceQueue, np.ndarray], queues: Sequence[InferenceQueue], k: int, end: int) -> list[int]:
    """Instants k to end of the depths of `queues` summed (queues without any are empty)."""
    found = [depths[q][k:end] for q in queues if q in depths]
    if not found:
        return [0] * (end - k)
    return (found[0] if len(found) == 1 else np.sum(found, axis=0)).tolist()


def _percentiles(
    index: np.ndarray, bins: np.ndarray, completed: np.ndarray, qs: Sequence[float]
) -> list[list[float | None]]:
    """For each q, each instant's `RequestCounts.percentiles_ms` of its completed requests
    (`index`: their instants, `bins`: their latency bins): the rank-th smallest bin, found
    in one sort of all instants' bins."""
    ordered = np.sort(index.astype(np.int64) * _BINS + bins)
    starts = np.cumsum(completed) - completed
    has = np.flatnonzero(completed)
    found = []
    for q in qs:
        ranks = np.maximum(np.ceil(q / 100.0 * completed[has]), 1).astype(np.int64)
        chosen = ordered[starts[has] + ranks - 1] - has * _BINS
        edges = LATENCY_EDGES_MS[np.minimum(chosen, LATENCY_EDGES_MS.size - 1)].tolist()
        column: list[float | None] = [None] * completed.size
        for k, edge in zip(has.tolist(), edges):
            column[k] = edge
        found.append(column)
    return found
