"""`GET /_sim/latency`: latency percentiles per deployment, which Elasticsearch's stats
cannot give (its inference queues keep only sums, so `_stats` shows averages).

Watching starts at the first read of this endpoint or of the live view's page, for the
cluster being served: from then on every served request's latency goes into the 2 %-wide
bins of `cluster.metrics.RequestCounts`, once for the whole watch and once per ten-second
bucket of answer time, so "last minute" is the last six buckets (50 to 60 s). Counted at
once, so memory stays bounded whether anyone polls or not. Requests refused for want of a
route (`unrouted`) are counted only in the total (Serving keeps them as running sums).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from aiohttp import web

from cluster.cluster import Cluster
from cluster.metrics import RequestCounts, describe_counts
from nodes.inference_queue import BatchResult, InferenceQueue

from ..context import cluster_of
from ..responses import render

#: Simulated seconds per bucket of the last-minute window, and buckets kept.
BUCKET_SECONDS = 10.0
LAST_MINUTE_BUCKETS = 6


class LatencyWatch:
    """Request counts and latency bins per deployment since `since`, and per recent bucket."""

    def __init__(self, cluster: Cluster) -> None:
        self.since = cluster.env.now
        self.unrouted_before = dict(cluster.serving.unrouted)
        self.total: dict[str, RequestCounts] = {}
        #: deployment -> bucket index (answer time // BUCKET_SECONDS) -> counts
        self.recent: dict[str, dict[int, RequestCounts]] = {}
        cluster.serving.observers.append(self._served)

    def _served(self, deployment_id: str, queue: InferenceQueue, result: BatchResult) -> None:
        outcome, answered = result.outcome, result.answered
        latency_ms = (answered - result.arrivals) * 1000.0
        self.total.setdefault(deployment_id, RequestCounts()).add(outcome, latency_ms)
        buckets = (answered // BUCKET_SECONDS).astype(np.int64)
        recent = self.recent.setdefault(deployment_id, {})
        for bucket in np.unique(buckets):
            chosen = buckets == bucket
            recent.setdefault(int(bucket), RequestCounts()).add(outcome[chosen], latency_ms[chosen])
        newest = int(buckets.max()) if buckets.size else 0
        for old in [b for b in recent if b <= newest - LAST_MINUTE_BUCKETS]:
            del recent[old]

    def last_minute(self, deployment_id: str, now: float) -> RequestCounts:
        merged = RequestCounts()
        first = int(now // BUCKET_SECONDS) - LAST_MINUTE_BUCKETS + 1
        for bucket, counts in self.recent.get(deployment_id, {}).items():
            if bucket >= first:
                merged.merge(counts)
        return merged

    def describe(self, cluster: Cluster) -> dict[str, Any]:
        now = cluster.env.now
        unrouted = cluster.serving.unrouted
        deployments = sorted(set(self.total) | set(cluster.state.assignments))
        return {
            "since": cluster.clock.millis(self.since),
            "deployments": {
                d: {"total": describe_counts(self._total(d, unrouted.get(d, 0) - self.unrouted_before.get(d, 0))),
                    "last_minute": describe_counts(self.last_minute(d, now))}
                for d in deployments
            },
        }

    def _total(self, deployment_id: str, unrouted: int) -> RequestCounts:
        total = RequestCounts()
        total.merge(self.total.get(deployment_id, RequestCounts()))
        total.add_unrouted(unrouted)
        return total


_watches: "weakref.WeakKeyDictionary[Cluster, LatencyWatch]" = weakref.WeakKeyDictionary()


def watch(cluster: Cluster) -> LatencyWatch:
    """The cluster's watch, started on first use."""
    found = _watches.get(cluster)
    if found is None:
        found = _watches[cluster] = LatencyWatch(cluster)
    return found


async def latency(request: web.Request) -> web.Response:
    """Brings serving to now first (so it is a stateful read for the request journal)."""
    cluster = cluster_of(request)
    found = watch(cluster)
    cluster.serving.sync()
    return render(request, found.describe(cluster))
