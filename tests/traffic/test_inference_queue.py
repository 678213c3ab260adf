"""The batch queue engine: theory, queue-full rejections, hand-computed counters, cuts."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest

from nodes.inference_queue import InferenceQueue, Outcome
from nodes.queueing_theory import erlang_c, mean_wait
from nodes.service_model import InferenceProfile

OK, HIT, ERR, REJ, TO = (Outcome.OK, Outcome.CACHE_HIT, Outcome.ERROR, Outcome.REJECTED, Outcome.TIMEOUT)


def run_windows(queue: InferenceQueue, arrivals: np.ndarray, horizon: float, window: float):
    """Feed `arrivals` in control windows, as the cluster's tick would; concatenated results."""
    edges = np.arange(0.0, horizon + window, window)
    cuts = np.searchsorted(arrivals, edges)
    parts = [queue.run(arrivals[cuts[j] : cuts[j + 1]], edges[j + 1]) for j in range(len(edges) - 1)]
    return (np.concatenate([getattr(p, name) for p in parts]) for name in ("outcome", "started", "answered"))


@pytest.mark.parametrize("servers, rate", [(3, 240.0), (1, 70.0)])
def test_mmc_agrees_with_erlang_c(servers: int, rate: float) -> None:
    """Mean wait within 5% of Erlang C and utilisation within 1% (long seeded run)."""
    mean_ms, horizon = 10.0, 2000.0
    rng = np.random.default_rng(7)
    queue = InferenceQueue(InferenceProfile(mean_ms), rng, servers, timeout_seconds=math.inf)
    arrivals = np.sort(rng.uniform(0.0, horizon, rng.poisson(rate * horizon)))
    outcome, started, answered = run_windows(queue, arrivals, horizon, 10.0)
    assert np.all(outcome == OK)
    waits = started - arrivals
    expected = mean_wait(servers, rate, mean_ms / 1000)
    assert waits.mean() == pytest.approx(expected, rel=0.05)
    assert np.mean(waits > 0) == pytest.approx(erlang_c(servers, rate * mean_ms / 1000), rel=0.03)
    busy = (answered - started).sum() / (servers * horizon)
    assert busy == pytest.approx(rate * mean_ms / 1000 / servers, rel=0.01)


def test_rejections_exactly_when_the_queue_is_full() -> None:
    """One worker, 1 s per request, room for two waiting: the third waiting one is refused."""
    queue = InferenceQueue(InferenceProfile(1000.0, distribution="deterministic"), np.random.default_rng(0), 1, queue_capacity=2)
    result = queue.run(np.array([0.0, 0.1, 0.2, 0.3, 1.05, 1.1, 2.5]), 10.0)
    assert result.outcome.tolist() == [OK, OK, OK, REJ, OK, REJ, OK]
    np.testing.assert_allclose(result.started, [0, 1, 2, math.nan, 3, math.nan, 4])
    np.testing.assert_allclose(result.answered, [1, 2, 3, 0.3, 4, 1.1, 5])
    assert queue.stats().rejected_execution_count == 2


def test_zero_capacity_rejects_every_request_that_would_wait() -> None:
    queue = InferenceQueue(InferenceProfile(1000.0, distribution="deterministic"), np.random.default_rng(0), 2, queue_capacity=0)
    result = queue.run(np.array([0.0, 0.5, 0.9, 1.0]), 2.0)
    assert result.outcome.tolist() == [OK, OK, REJ, OK]


def test_counters_match_a_hand_computed_script() -> None:
    """100 ms per request, one worker, 2-entry LRU cache, 250 ms timeout."""
    queue = InferenceQueue(
        InferenceProfile(100.0, distribution="deterministic"),
        np.random.default_rng(0),
        1,
        cache_entries=2,
        timeout_seconds=0.25,
    )
    first = queue.run(
        np.array([0.0, 0.05, 0.06, 0.07, 0.08, 0.09]), 0.35, keys=["x", "y", "x", "z", "w", "v"]
    )
    assert first.outcome.tolist() == [OK, OK, HIT, OK, OK, TO]
    np.testing.assert_allclose(first.answered, [0.1, 0.2, 0.2, 0.3, 0.4, 0.34])
    s = queue.stats()
    assert (s.inference_count, s.inference_cache_hit_count, s.timeout_count) == (4, 1, 1)
    assert s.average_inference_time_ms == pytest.approx(75.0)
    assert s.average_inference_time_ms_excluding_cache_hits == pytest.approx(100.0)
    assert s.last_access == pytest.approx(0.3)
    assert s.number_of_pending_requests == 2  # one in service, one timed out but still queued

    second = queue.run(np.array([0.5, 0.55]), 60.5, keys=["y", "w"])
    assert second.outcome.tolist() == [OK, HIT]  # y was evicted by z; w is still cached
    s = queue.stats()
    assert (s.inference_count, s.inference_cache_hit_count, s.timeout_count) == (7, 2, 1)
    assert (s.rejected_execution_count, s.error_count, s.number_of_pending_requests) == (0, 0, 0)
    assert s.last_access == pytest.approx(0.6)
    assert (s.throughput_last_minute, s.peak_throughput_per_minute) == (7, 7)
    assert s.average_inference_time_ms_last_minute == pytest.approx(500.0 / 7)
    assert s.inference_cache_hit_count_last_minute == 2

    queue.advance(130.0)
    s = queue.stats()
    assert (s.throughput_last_minute, s.peak_throughput_per_minute) == (0, 7)
    assert s.average_inference_time_ms_last_minute is None


def test_errors_use_the_worker_and_are_not_inferences() -> None:
    queue = InferenceQueue(
        InferenceProfile(100.0, distribution="deterministic", error_probability=1.0), np.random.default_rng(0), 1
    )
    result = queue.run(np.array([0.0, 0.0]), 1.0)
    assert result.outcome.tolist() == [ERR, ERR]
    np.testing.assert_allclose(result.answered, [0.1, 0.2])
    s = queue.stats()
    assert (s.error_count, s.inference_count, s.average_inference_time_ms) == (2, 0, None)


def test_answers_count_only_once_due() -> None:
    queue = InferenceQueue(InferenceProfile(5000.0, distribution="deterministic"), np.random.default_rng(0), 1)
    queue.run(np.array([1.0]), 2.0)
    assert (queue.stats().inference_count, queue.stats().number_of_pending_requests) == (0, 1)
    assert queue.idle_at() == pytest.approx(6.0)
    queue.advance(6.0)
    assert (queue.stats().inference_count, queue.stats().number_of_pending_requests) == (1, 0)


def test_cutting_into_batches_changes_nothing() -> None:
    """Same arrivals and seed: one batch or many control windows give the same schedule."""
    rng = np.random.default_rng(3)
    arrivals = np.sort(rng.uniform(0.0, 100.0, 20_000))
    whole = InferenceQueue(InferenceProfile(9.0, distribution="lognormal", cv=2.0), np.random.default_rng(1), 2, queue_capacity=5)
    one = whole.run(arrivals, 100.0)
    cut = InferenceQueue(InferenceProfile(9.0, distribution="lognormal", cv=2.0), np.random.default_rng(1), 2, queue_capacity=5)
    outcome, started, answered = run_windows(cut, arrivals, 100.0, 1.0)
    assert np.array_equal(one.outcome, outcome)
    np.testing.assert_array_equal(one.started, started)
    assert asdict(whole.stats()) == pytest.approx(asdict(cut.stats()))  # float sums differ in order
    assert whole.stats().rejected_execution_count > 0


def test_resize_adds_free_workers_and_keeps_the_busiest_on_decrease() -> None:
    profile = InferenceProfile(1000.0, distribution="deterministic")
    queue = InferenceQueue(profile, np.random.default_rng(0), 1)
    queue.run(np.array([0.0]), 0.5)
    queue.resize(2)
    assert queue.run(np.array([0.5]), 0.6).started.tolist() == [0.5]
    queue.resize(1)  # workers free at 1.0 and 1.5: only the one busy longest stays
    assert queue.run(np.array([0.7]), 0.8).started.tolist() == [1.5]
    queue.resize(0)
    assert queue.run(np.array([0.9]), 1.0).outcome.tolist() == [REJ]


def test_service_time_scales_with_threads_by_amdahl() -> None:
    profile = InferenceProfile(100.0, parallel_fraction=0.8)
    assert profile.mean_seconds(1) == pytest.approx(0.1)
    assert profile.mean_seconds(4) == pytest.approx(0.1 * (0.2 + 0.8 / 4))
    draws = InferenceProfile(100.0, distribution="lognormal", cv=0.5).sample_seconds(np.random.default_rng(0), 200_000)
    assert draws.mean() == pytest.approx(0.1, rel=0.01)
    assert draws.std() / draws.mean() == pytest.approx(0.5, rel=0.03)


@pytest.mark.parametrize(
    "arrivals, until",
    [([1.0, 0.5], 2.0), ([0.0, 2.0], 2.0), ([-1.0], 2.0)],
)
def test_bad_batches_are_refused(arrivals, until) -> None:
    queue = InferenceQueue(InferenceProfile(1.0), np.random.default_rng(0), 1)
    with pytest.raises(ValueError):
        queue.run(np.array(arrivals), until)
