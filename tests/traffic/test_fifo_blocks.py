"""The block solver and `run_together` give the per-request loop's results to the bit."""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict

import numpy as np
import pytest

import nodes.inference_queue as inference_queue
from nodes.fifo_blocks import MAX_WORKERS, fifo_starts
from nodes.inference_queue import Batch, InferenceQueue, Outcome, run_together
from nodes.service_model import InferenceProfile


def sequential(a: np.ndarray, s: np.ndarray, free: list[float]) -> tuple[np.ndarray, list[float]]:
    """The textbook c-server FIFO recurrence, one request at a time."""
    heap = sorted(free)
    starts = []
    for x, y in zip(a.tolist(), s.tolist()):
        start = max(x, heap[0])
        starts.append(start)
        heapq.heapreplace(heap, start + y)
    return np.array(starts), sorted(heap)


@pytest.mark.parametrize("seed", range(4))
def test_block_solver_matches_the_recurrence_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrivals, service, free = [], [], []
    for c in range(1, MAX_WORKERS + 1):
        for load in (0.3, 0.9, 1.3):  # light, heavy, overloaded
            n = int(rng.integers(0, 700))
            a = np.sort(np.round(rng.uniform(5.0, 15.0, n), 2))  # rounding makes ties
            mean = load * c * 10.0 / max(n, 1)
            s = rng.exponential(mean, n) if seed % 2 else np.full(n, mean)
            arrivals.append(a)
            service.append(s)
            free.append(rng.uniform(0.0, 12.0, c).tolist())
    starts, after = fifo_starts(arrivals, service, free)
    for a, s, f, got, end in zip(arrivals, service, free, starts, after):
        want, want_end = sequential(a, s, f)
        np.testing.assert_array_equal(got, want)
        last = a[-1] if a.size else -math.inf
        # workers free before the last arrival may come back as "free at that arrival"
        assert np.array_equal(np.maximum(end, last), np.maximum(want_end, last))


def test_block_solver_refuses_worker_counts_it_does_not_handle() -> None:
    with pytest.raises(ValueError):
        fifo_starts([np.array([1.0])], [np.array([1.0])], [[0.0] * (MAX_WORKERS + 1)])


def make_queues(seed: int) -> list[InferenceQueue]:
    """Routes that exercise both paths: small and large worker counts, a tiny queue that
    fills up, a short timeout, a cache, failures, no workers."""
    profile = InferenceProfile(10.0, distribution="lognormal", cv=1.5)
    specs = [
        dict(allocations=1),
        dict(allocations=3),
        dict(allocations=4, queue_capacity=3),
        dict(allocations=2, timeout_seconds=0.02),
        dict(allocations=12),
        dict(allocations=2, cache_entries=5),
        dict(allocations=0),
    ]
    queues = [InferenceQueue(profile, np.random.default_rng([seed, i]), **spec) for i, spec in enumerate(specs)]
    queues.append(InferenceQueue(InferenceProfile(10.0, error_probability=0.2), np.random.default_rng([seed, 99]), 3))
    return queues


def serve(queues: list[InferenceQueue], windows: int, together: bool):
    rng = np.random.default_rng(11)
    results = []
    for w in range(windows):
        batches = []
        for q in queues:
            rate = 0.8 * max(q.allocations, 1) / 0.01
            a = np.sort(rng.uniform(3.0 * w, 3.0 * w + 3.0, rng.poisson(3.0 * rate)))
            keys = rng.integers(0, 8, a.size).tolist()
            batches.append(Batch(q, a, 3.0 * w + 3.0, keys=keys))
        if together:
            results += run_together(batches)
        else:
            results += [b.queue.run(b.arrivals, b.until, keys=b.keys) for b in batches]
    return results


def test_run_together_equals_running_each_queue_through_the_loop(monkeypatch) -> None:
    solved = []

    def spy(arrivals, service, free):
        solved.append(len(arrivals))
        return fifo_starts(arrivals, service, free)

    monkeypatch.setattr(inference_queue, "fifo_starts", spy)
    together = make_queues(5)
    joint = serve(together, 6, together=True)
    assert solved == [5] * 6  # routes of 1-4 workers without a cache
    monkeypatch.setattr(inference_queue, "JOINT_MIN_REQUESTS", math.inf)  # loop only
    alone = make_queues(5)
    looped = serve(alone, 6, together=False)
    for x, y in zip(joint, looped):
        np.testing.assert_array_equal(x.outcome, y.outcome)
        np.testing.assert_array_equal(x.started, y.started)
        np.testing.assert_array_equal(x.answered, y.answered)
    for q, r in zip(together, alone):
        assert asdict(q.stats()) == pytest.approx(asdict(r.stats()))
    outcomes = np.concatenate([r.outcome for r in joint])
    assert {Outcome.OK, Outcome.REJECTED, Outcome.TIMEOUT, Outcome.CACHE_HIT, Outcome.ERROR} <= set(outcomes.tolist())


def test_a_queue_appears_once_per_call() -> None:
    queue = InferenceQueue(InferenceProfile(1.0), np.random.default_rng(0), 1)
    with pytest.raises(ValueError):
        run_together([Batch(queue, np.array([0.0]), 1.0), Batch(queue, np.array([0.5]), 1.0)])
