"""Adaptive allocations: a step of load up and back down, bounds, cooldown, scale to zero."""

from __future__ import annotations

import pytest

from cluster.adaptive import TICK_SECONDS, AdaptiveScaler, AdaptiveSettings, KalmanFilter1d


def drive(scaler: AdaptiveScaler, allocations: int, start: float, ticks: int, rate: float, ms: float):
    """Tick with a steady load; returns (allocations, time) after applying each decision."""
    now = start
    for _ in range(ticks):
        now += TICK_SECONDS
        requests = int(rate * TICK_SECONDS)
        scaler.observe(now, TICK_SECONDS, requests, requests, ms if requests else None)
        decided = scaler.decide(now, allocations)
        if decided is not None:
            allocations = decided
    return allocations, now


def test_step_up_then_down_respects_cooldown_and_min() -> None:
    scaler = AdaptiveScaler(AdaptiveSettings(min_allocations=2, max_allocations=16), now=0.0)
    allocations, now = drive(scaler, 2, 0.0, 6, rate=100.0, ms=50.0)  # load 5 allocations busy
    assert allocations == 6  # 5/6 <= 0.9 < 5/5
    allocations, now = drive(scaler, allocations, now, 20, rate=2.0, ms=50.0)  # 200 s: in cooldown
    assert allocations == 6
    allocations, now = drive(scaler, allocations, now, 30, rate=2.0, ms=50.0)
    assert allocations == 2  # load 0.1 would fit 1, min is 2


def test_max_and_default_cap() -> None:
    capped = AdaptiveScaler(AdaptiveSettings(max_allocations=8), now=0.0)
    assert drive(capped, 1, 0.0, 5, rate=1000.0, ms=50.0)[0] == 8
    uncapped = AdaptiveScaler(AdaptiveSettings(), now=0.0)
    assert drive(uncapped, 1, 0.0, 5, rate=1000.0, ms=50.0)[0] == 32


def test_scale_to_zero_after_idle_time_only_when_min_is_zero() -> None:
    settings = AdaptiveSettings(min_allocations=0, scale_to_zero_seconds=900.0)
    scaler = AdaptiveScaler(settings, now=0.0)
    allocations, now = drive(scaler, 1, 0.0, 3, rate=1.0, ms=10.0)
    allocations, now = drive(scaler, allocations, now, 89, rate=0.0, ms=10.0)
    assert allocations == 1  # 890 s idle
    allocations, now = drive(scaler, allocations, now, 2, rate=0.0, ms=10.0)
    assert allocations == 0
    kept = AdaptiveScaler(AdaptiveSettings(min_allocations=1, scale_to_zero_seconds=900.0), now=0.0)
    assert drive(kept, 1, 0.0, 200, rate=0.0, ms=10.0)[0] == 1


def test_rate_filter_adopts_a_jump_and_smooths_noise() -> None:
    f = KalmanFilter1d(detect_jumps=True)
    for _ in range(50):
        f.add(10.0, 1.0)
    f.add(12.0, 1.0)  # within noise: moves a little
    assert 10.0 < f.value < 10.5
    f.add(100.0, 1.0)  # a jump: adopted almost at once
    assert f.value == pytest.approx(100.0, abs=1.0)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        AdaptiveSettings(min_allocations=4, max_allocations=2)
    with pytest.raises(ValueError):
        AdaptiveSettings(scale_to_zero_seconds=60.0)
