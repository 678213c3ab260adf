"""Traffic profiles deliver the rates they promise; routing follows allocation weights."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from cluster.routing import split_by_allocations
from cluster.traffic import ConstantRate, Diurnal, Poisson, Replay, Step


def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def within_sigmas(count: int, expected: float, sigmas: float = 4.0) -> bool:
    return abs(count - expected) <= sigmas * math.sqrt(expected)


def test_constant_rate_is_evenly_spaced_and_window_cuts_are_seamless() -> None:
    profile = ConstantRate(4.0)
    whole = profile.arrivals(rng(), 0.0, 10.0)
    assert whole.size == 40 and np.allclose(np.diff(whole), 0.25)
    edges = np.linspace(0.0, 10.0, 34)
    cut = np.concatenate([profile.arrivals(rng(), t0, t1) for t0, t1 in zip(edges[:-1], edges[1:])])
    np.testing.assert_array_equal(cut, whole)


def test_poisson_count_and_gaps() -> None:
    times = Poisson(500.0).arrivals(rng(), 100.0, 300.0)
    assert within_sigmas(times.size, 100_000)
    assert times[0] >= 100.0 and times[-1] < 300.0 and np.all(np.diff(times) >= 0)
    gaps = np.diff(times)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.02)  # exponential gaps


def test_step_changes_rate_at_the_right_time() -> None:
    profile = Step(((0.0, 10.0), (100.0, 1000.0), (200.0, 0.0)))
    times = profile.arrivals(rng(), 50.0, 250.0)
    assert within_sigmas(int(np.sum(times < 100.0)), 500)
    assert within_sigmas(int(np.sum((times >= 100.0) & (times < 200.0))), 100_000)
    assert not np.any(times >= 200.0)
    assert np.all(np.diff(times) >= 0)
    assert profile.arrivals(rng(), -10.0, 0.0).size == 0


def test_diurnal_mean_and_shape() -> None:
    profile = Diurnal(mean_rate=200.0, amplitude=0.8, period=1000.0)
    times = profile.arrivals(rng(), 0.0, 5000.0)
    assert within_sigmas(times.size, 1_000_000)
    quarter = np.histogram(times % 1000.0, bins=4, range=(0, 1000))[0]
    # ∫ over each quarter period of 200·(1 + 0.8 sin): ±0.8·200·1000/(2π) around 50k per cycle
    swing = 0.8 * 200.0 * 1000.0 / (2 * math.pi) * 5
    expected = np.array([250_000 + swing, 250_000 + swing, 250_000 - swing, 250_000 - swing])
    assert np.all(np.abs(quarter - expected) < 4 * np.sqrt(expected))


def test_replay_from_csv_is_exact() -> None:
    trace = io.StringIO("timestamp,model\n0.5,a\n0.25,b\n\n3.0,a\n10,c\n")
    profile = Replay.from_csv(trace, column="timestamp")
    assert profile.arrivals(rng(), 0.0, 3.0).tolist() == [0.25, 0.5]
    assert profile.arrivals(rng(), 3.0, 11.0).tolist() == [3.0, 10.0]


def test_replay_from_a_path_without_header(tmp_path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("1.5\n2\n2\n")
    assert Replay.from_csv(path).arrivals(rng(), 0.0, 5.0).tolist() == [1.5, 2.0, 2.0]


@pytest.mark.parametrize(
    "text, column, message",
    [
        ("", 0, "empty"),
        ("t\n", 0, "no timestamps"),
        ("t\n1\nsoon\n", 0, "line 3: \\[soon\\] is not a number"),
        ("1,2\n3\n", 1, "line 2: no column 1"),
        ("a,b\n1,2\n", "c", "no column named \\[c\\]"),
        ("1\nnan\n", 0, "line 2: \\[nan\\] is not a finite"),
    ],
)
def test_replay_reports_bad_traces_clearly(text: str, column, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Replay.from_csv(io.StringIO(text), column=column)


def test_routing_splits_by_allocation_weights() -> None:
    split = split_by_allocations(400_000, {"n1": 1, "n2": 3, "n3": 4, "n4": 0}, rng())
    assert sorted(split) == ["n1", "n2", "n3"]
    for node, weight in (("n1", 1 / 8), ("n2", 3 / 8), ("n3", 4 / 8)):
        assert within_sigmas(split[node].size, 400_000 * weight)
        assert np.all(np.diff(split[node]) > 0)  # arrival order kept per route
    assert np.array_equal(np.sort(np.concatenate(list(split.values()))), np.arange(400_000))


def test_routing_needs_a_started_route_with_allocations() -> None:
    with pytest.raises(ValueError, match="no started route"):
        split_by_allocations(3, {"n1": 0}, rng())
