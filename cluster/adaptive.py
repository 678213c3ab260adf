"""Adaptive allocations: the per-deployment decision made on every 10 s tick.

Two one-dimensional Kalman filters smooth the request rate and the inference time seen
between ticks; the load estimate (busy allocations) is their product, and the deployment
scales up while each allocation would be more than 90 % busy and down while one fewer
would still be under 85 %. Pure logic: the cluster feeds it stats deltas and applies the
returned allocation count through an internal update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TICK_SECONDS = 10.0
SCALE_UP_THRESHOLD = 0.9
SCALE_DOWN_THRESHOLD = 0.85
DEFAULT_MAX_ALLOCATIONS = 32
DEFAULT_COOLDOWN_SECONDS = 300.0
DEFAULT_SCALE_TO_ZERO_SECONDS = 24 * 3600.0
MIN_SCALE_TO_ZERO_SECONDS = 15 * 60.0
SMOOTHING = 100.0
#: A measurement this many (squared) standard deviations away is a change of regime.
JUMP_THRESHOLD = 100.0


class KalmanFilter1d:
    """Tracks a slowly drifting quantity from noisy measurements with known variance.

    The process noise is the measurement variance / `SMOOTHING`, so the estimate moves
    slowly; a measurement far outside both uncertainties is taken as a jump and adopted
    almost at once, so a real step in traffic is not smoothed away over minutes.
    """

    def __init__(self, detect_jumps: bool) -> None:
        self.value: float | None = None
        self.variance = math.inf
        self._detect_jumps = detect_jumps

    def add(self, value: float, variance: float) -> None:
        if self.value is None:
            self.value, self.variance = value, variance
            return
        process = variance / SMOOTHING
        delta2 = (value - self.value) ** 2
        if self._detect_jumps and delta2 / (self.variance + variance) > JUMP_THRESHOLD:
            process = delta2
        prior = self.variance + process
        gain = prior / (prior + variance)
        self.value += gain * (value - self.value)
        self.variance = (1.0 - gain) * prior

    def bounds(self, default: float) -> tuple[float, float]:
        """The estimate ± one standard deviation, or `default` twice with no estimate."""
        if self.value is None:
            return default, default
        sd = math.sqrt(self.variance)
        return self.value - sd, self.value + sd


@dataclass(frozen=True, slots=True)
class AdaptiveSettings:
    min_allocations: int | None = None
    max_allocations: int | None = None
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    scale_to_zero_seconds: float = DEFAULT_SCALE_TO_ZERO_SECONDS

    def __post_init__(self) -> None:
        low = self.min_allocations or 0
        if low < 0 or (self.max_allocations is not None and self.max_allocations < max(low, 1)):
            raise ValueError("allocation bounds must satisfy 0 <= min <= max and max >= 1")
        if self.scale_to_zero_seconds < MIN_SCALE_TO_ZERO_SECONDS:
            raise ValueError(f"[scale_to_zero_time] must be at least {MIN_SCALE_TO_ZERO_SECONDS:g}s")


class AdaptiveScaler:
    """The scaling state of one deployment."""

    def __init__(self, settings: AdaptiveSettings, now: float) -> None:
        self.settings = settings
        self.rate = KalmanFilter1d(detect_jumps=True)
        self.time = KalmanFilter1d(detect_jumps=False)
        self._last_scale_up = -math.inf
        self._last_request = now

    def note_scale_up(self, now: float) -> None:
        """Start the cooldown (also for scale-ups seen elsewhere: a new route or node)."""
        self._last_scale_up = now

    def observe(self, now: float, dt: float, requests: int, inferences: int, average_ms: float | None) -> None:
        """Feed one tick's deltas: requests (answered + pending + failed) and the inferences
        with their average time, over the `dt` seconds since the previous tick."""
        if dt <= 0:
            return
        expected = self.rate.value * dt if self.rate.value is not None else requests
        self.rate.add(requests / dt, max(1.0, expected) / dt**2)
        if inferences > 0 and average_ms is not None:
            seconds = average_ms / 1000.0
            self.time.add(seconds, seconds * seconds / inferences)
        if requests > 0:
            self._last_request = now

    def decide(self, now: float, current: int, observed_scale_up: bool = False) -> int | None:
        """The allocation count to move to, or None to stay. `observed_scale_up`: a route
        is starting or started within the cooldown, which blocks a scale-down as this
        scaler's own scale-ups do."""
        rate_low, rate_high = self.rate.bounds(0.0)
        time_low, time_high = self.time.bounds(1.0)
        load_low, load_high = rate_low * time_low, rate_high * time_high
        n = max(current, 1)
        while load_low / n > SCALE_UP_THRESHOLD:
            n += 1
        while n > 1 and load_high / (n - 1) < SCALE_DOWN_THRESHOLD:
            n -= 1
        s = self.settings
        n = max(n, s.min_allocations or 0)
        n = min(n, s.max_allocations if s.max_allocations is not None else DEFAULT_MAX_ALLOCATIONS)
        if not s.min_allocations and now - self._last_request > s.scale_to_zero_seconds:
            n = 0
        if n < current and (observed_scale_up or now - self._last_scale_up < s.cooldown_seconds):
            return None
        if n == current:
            return None
        if n > current:
            self.note_scale_up(now)
        return n
