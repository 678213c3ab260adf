"""Samples filled in after serving: the same counts, latencies and queue depths as reading
the cluster at each instant, whether traffic is served at every tick or in long windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from api.scenarios import ScenarioRun, load_scenario, runner
from cluster.cluster import Cluster
from cluster.interval_series import IntervalSeries
from cluster.metrics import LATENCY_EDGES_MS, RequestTally, latency_bins, sample_deployments
from cluster.settings import ClusterSettings
from cluster.traffic import Poisson
from nodes.service_model import InferenceProfile

from ..scenarios.conftest import scenario


def overloaded_cluster() -> Cluster:
    """Two deployments on one node, both over capacity: one rejects (short queue), one times
    out (long queue); the node crashes at 300 s, so later requests find no route."""
    profile = InferenceProfile(100.0, distribution="lognormal", cv=0.5)
    cluster = Cluster(ClusterSettings(inference_profile=profile), seed=5, clock="experiment")
    cluster.add_node("ml-1", processors=4)
    cluster.add_pytorch_model("m", 10_000_000)
    cluster.start_deployment("m", deployment_id="short", number_of_allocations=1, queue_capacity=20)
    cluster.start_deployment("m", deployment_id="long", number_of_allocations=1, queue_capacity=100_000)
    cluster.advance(10.0 - cluster.now % 10.0)
    cluster.add_traffic("short", Poisson(15.0))
    cluster.add_traffic("long", Poisson(11.0))
    return cluster


def test_every_tick_served_gives_what_the_cluster_shows_at_each_instant() -> None:
    cluster = overloaded_cluster()
    tally, series = RequestTally(cluster), IntervalSeries(cluster.serving)
    crash_at = cluster.now + 300.0
    seen, closed = [], []
    for _ in range(60):
        cluster.advance(10.0)
        if cluster.now == crash_at:
            cluster.crash_node(cluster.node_id("ml-1"))
        cluster.serving.sync()
        deployments = sample_deployments(cluster)
        interval = tally.take_interval()
        seen.append({
            d: (c.offered, c.completed, c.rejected, c.timed_out, c.unrouted, *c.percentiles_ms((50, 99)),
                sum(q.pending() for q in deployments[d].queues) if d in deployments else 0)
            for d, c in interval.items()
        })
        series.mark(cluster.now, {d: s.queues for d, s in deployments.items()})
        closed += series.close(cluster.serving.synced_at)
    got = [
        {d: (i.offered, i.completed, i.rejected, i.timed_out, i.unrouted, i.p50_ms, i.p99_ms, i.queue_depth)
         for d, i in intervals.items() if i.offered}
        for _, intervals in closed
    ]
    assert got == seen
    for kind in ("rejected", "timed_out", "unrouted"):  # every path was taken
        assert sum(getattr(c, kind) for c in tally.totals().values()) > 0
    assert any(row[d][-1] > 0 for row in seen for d in row)
    for d, total in tally.totals().items():
        assert (series.totals[d].offered, series.totals[d].completed) == (total.offered, total.completed)
        assert (series.totals[d].latency_bins == total.latency_bins).all()


def deterministic_run(monkeypatch: pytest.MonkeyPatch, window: float) -> tuple[ScenarioRun, set[float]]:
    """Constant traffic, fixed inference times and one allocation per deployment: nothing
    random, so how traffic is cut into windows cannot change any result. Also returns the
    instants at which windows were served."""
    data: dict[str, Any] = scenario(
        duration="10m",
        models=[{"model_id": "m", "model_bytes": "100mb", "inference": {"mean_ms": 100, "distribution": "deterministic"}}],
        deployments=[
            {"model_id": "m", "deployment_id": "short", "number_of_allocations": 1, "queue_capacity": 20, "cache_size": 0},
            {"model_id": "m", "deployment_id": "long", "number_of_allocations": 1, "queue_capacity": 100_000, "cache_size": 0},
        ],
        traffic=[
            {"deployment_id": "short", "kind": "constant", "rate": 12.5},
            {"deployment_id": "long", "kind": "constant", "rate": 10.5},
        ],
        timeline=[{"at": "7m", "do": "crash_nodes", "count": 2}],
    )
    monkeypatch.setattr(runner, "SERVING_WINDOW_SECONDS", window)
    run = ScenarioRun(load_scenario(data))
    served: set[float] = set()
    run.cluster.serving.observers.append(lambda *_: served.add(run.cluster.now))
    run.summary = run.run()
    return run, served


def test_long_windows_fill_in_the_same_samples_as_serving_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    long, served_long = deterministic_run(monkeypatch, 300.0)
    every_tick, served_every_tick = deterministic_run(monkeypatch, 0.0)
    assert long.summary.timeseries == every_tick.summary.timeseries
    assert long.summary.data == every_tick.summary.data
    rows = long.summary.timeseries
    for kind in ("rejected", "timed_out", "unrouted"):
        assert sum(row[kind] for row in rows) > 0
    assert max(row["queue_depth"] for row in rows) > 20
    # 42 ticks with traffic before the crash; the long windows: 300 s, the crash, the end
    assert (len(served_every_tick), len(served_long)) == (42, 2)


def test_latency_bins_are_searchsorted_in_the_edges_to_the_bit() -> None:
    rng = np.random.default_rng(2)
    edges = LATENCY_EDGES_MS
    latencies = np.concatenate([
        rng.lognormal(3.0, 2.0, 100_000), [0.0, 1e-9, 1e12], edges, np.nextafter(edges, 0), np.nextafter(edges, np.inf),
    ])
    assert (latency_bins(latencies) == np.searchsorted(edges, latencies)).all()


def test_two_samples_at_one_instant_the_second_gets_no_requests() -> None:
    """A request action that waits moves the clock past sample times: those samples all
    fall at the instant it returned."""
    cluster = overloaded_cluster()
    series = IntervalSeries(cluster.serving)
    cluster.advance(60.0)
    queues = {d: s.queues for d, s in sample_deployments(cluster).items()}
    series.mark(cluster.now, queues)
    series.mark(cluster.now, queues)
    cluster.serving.sync()
    (_, first), (_, second) = series.close(cluster.serving.synced_at)
    assert first["long"].offered > 0 and first["long"].queue_depth > 0
    assert [i.offered for i in second.values()] == [0, 0]
    assert [i.queue_depth for i in second.values()] == [i.queue_depth for i in first.values()]
    with pytest.raises(ValueError):
        series.mark(cluster.now - 1.0, queues)
