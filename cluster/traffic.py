"""Inference traffic as arrival times: each profile draws the arrivals of a window
[t0, t1) of simulated seconds, so traffic is generated window by window between the
cluster's control events, with the random generator passed in (never global state).

Poisson-type profiles are independent over disjoint windows, so cutting a horizon into
windows leaves the process unchanged; constant rate and replay are deterministic.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from typing import Protocol, Sequence, TextIO

import numpy as np


#: Highest request rate (per simulated second) the profiles on one deployment may reach
#: together, and most timestamps a replay may hold: a 10 s window then draws at most a
#: million arrivals, so a profile cannot exhaust memory later, in a stats read or an advance.
MAX_RATE = 100_000.0
MAX_REPLAY_TIMES = 1_000_000


class TrafficProfile(Protocol):
    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        """Sorted arrival times in [t0, t1)."""
        ...

    @property
    def peak_rate(self) -> float:
        """The highest rate the profile reaches (a replay's is 0: its size is bounded instead)."""
        ...


def check_peak_rate(existing: Sequence[TrafficProfile], profile: TrafficProfile) -> None:
    """Refuse a profile that would take a deployment's traffic over `MAX_RATE`."""
    total = sum(p.peak_rate for p in existing) + profile.peak_rate
    if total > MAX_RATE:
        raise ValueError(
            f"the deployment's traffic would peak at [{total:g}] requests per second; "
            f"the limit is [{MAX_RATE:g}] per deployment"
        )


def _check_window(t0: float, t1: float) -> None:
    if not t1 >= t0:
        raise ValueError(f"window [{t0}, {t1}) is empty or reversed")


def _check_rate(rate: float) -> None:
    if not (rate >= 0 and math.isfinite(rate)):
        raise ValueError(f"rate [{rate}] must be a finite non-negative number")


def _poisson(rng: np.random.Generator, rate: float, t0: float, t1: float) -> np.ndarray:
    """A homogeneous Poisson process: a Poisson count of sorted uniform times."""
    n = rng.poisson(rate * (t1 - t0)) if rate > 0 and t1 > t0 else 0
    return np.sort(rng.uniform(t0, t1, n))


@dataclass(frozen=True, slots=True)
class ConstantRate:
    """Evenly spaced requests at k / rate (a load generator with a fixed pace)."""

    rate: float

    def __post_init__(self) -> None:
        _check_rate(self.rate)

    @property
    def peak_rate(self) -> float:
        return self.rate

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        _check_window(t0, t1)
        if self.rate == 0:
            return np.empty(0)
        k = np.arange(math.ceil(t0 * self.rate), math.ceil(t1 * self.rate))
        times = k / self.rate
        return times[(times >= t0) & (times < t1)]


@dataclass(frozen=True, slots=True)
class Poisson:
    """Independent users: exponential gaps at `rate` requests per second."""

    rate: float

    def __post_init__(self) -> None:
        _check_rate(self.rate)

    @property
    def peak_rate(self) -> float:
        return self.rate

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        _check_window(t0, t1)
        return _poisson(rng, self.rate, t0, t1)


@dataclass(frozen=True, slots=True)
class Step:
    """Piecewise-constant Poisson rates: `steps` are (from_time, rate), rate 0 before the first."""

    steps: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        starts = [t for t, _ in self.steps]
        if not self.steps or starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("[steps] must be a non-empty list of (time, rate) with increasing times")
        for _, rate in self.steps:
            _check_rate(rate)

    @property
    def peak_rate(self) -> float:
        return max(rate for _, rate in self.steps)

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        _check_window(t0, t1)
        ends = [t for t, _ in self.steps[1:]] + [math.inf]
        parts = [
            _poisson(rng, rate, max(t0, start), min(t1, end))
            for (start, rate), end in zip(self.steps, ends)
            if start < t1 and end > t0
        ]
        return np.concatenate(parts) if parts else np.empty(0)


@dataclass(frozen=True, slots=True)
class Diurnal:
    """A daily cycle: rate(t) = mean · (1 + amplitude · sin(2π (t − phase) / period)),
    drawn by thinning a Poisson process at the peak rate."""

    mean_rate: float
    amplitude: float = 0.5
    period: float = 86_400.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        _check_rate(self.mean_rate)
        if not 0.0 <= self.amplitude <= 1.0:
            raise ValueError("[amplitude] must be in [0, 1]")
        if not self.period > 0:
            raise ValueError("[period] must be positive")

    @property
    def peak_rate(self) -> float:
        return self.mean_rate * (1.0 + self.amplitude)

    def rate(self, t: float | np.ndarray) -> float | np.ndarray:
        return self.mean_rate * (1.0 + self.amplitude * np.sin(2.0 * np.pi * (np.subtract(t, self.phase)) / self.period))

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        _check_window(t0, t1)
        peak = self.mean_rate * (1.0 + self.amplitude)
        candidates = _poisson(rng, peak, t0, t1)
        if peak == 0:
            return candidates
        return candidates[rng.random(candidates.size) * peak < self.rate(candidates)]


@dataclass(frozen=True, slots=True)
class Replay:
    """Recorded request times (seconds), replayed exactly."""

    times: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        if self.times.ndim != 1 or not np.all(np.isfinite(self.times)):
            raise ValueError("replay times must be a one-dimensional array of finite numbers")
        if np.any(np.diff(self.times) < 0):
            raise ValueError("replay times must be sorted")

    @property
    def peak_rate(self) -> float:
        return 0.0

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        _check_window(t0, t1)
        lo, hi = np.searchsorted(self.times, [t0, t1], side="left")
        return self.times[lo:hi]

    @classmethod
    def from_csv(cls, source: str | os.PathLike | TextIO, column: int | str = 0) -> "Replay":
        """Read timestamps (seconds) from one CSV column, chosen by index or header name.

        A first row that is not numeric is a header. Rows come out sorted, since a merged
        trace need not be; a bad value is reported with its line number.
        """
        if isinstance(source, (str, os.PathLike)):
            with open(source, newline="", encoding="utf-8") as stream:
                return cls(parse_timestamps(stream, column))
        return cls(parse_timestamps(source, column))


def parse_timestamps(stream: TextIO | io.StringIO, column: int | str = 0, limit: int | None = None) -> np.ndarray:
    """The numbers of one CSV column, sorted; see `Replay.from_csv`. At most `limit` rows."""
    rows = list(csv.reader(stream))
    if not rows:
        raise ValueError("the trace is empty")
    index, first = _column_index(rows[0], column)
    if limit is not None:
        _check_replay_size(len(rows) - first)
    values: list[float] = []
    for line, row in enumerate(rows[first:], start=first + 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if index >= len(row):
            raise ValueError(f"line {line}: no column {index} in {row!r}")
        try:
            value = float(row[index])
        except ValueError:
            raise ValueError(f"line {line}: [{row[index]}] is not a number of seconds") from None
        if not math.isfinite(value):
            raise ValueError(f"line {line}: [{row[index]}] is not a finite number of seconds")
        values.append(value)
    if not values:
        raise ValueError("the trace has no timestamps")
    return np.sort(np.array(values))


def _column_index(header: Sequence[str], column: int | str) -> tuple[int, int]:
    """(column index, first data row): a non-numeric first row is a header."""
    try:
        float(header[column if isinstance(column, int) else 0])
        has_header = False
    except (ValueError, IndexError):
        has_header = True
    if isinstance(column, str):
        names = [h.strip() for h in header]
        if column not in names:
            raise ValueError(f"no column named [{column}] in the header {names}")
        return names.index(column), 1
    if column < 0:
        raise ValueError("[column] must not be negative")
    return column, 1 if has_header else 0


#: `profile_from_json` kinds and the fields each takes (besides `kind`).
PROFILE_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": ("rate",),
    "poisson": ("rate",),
    "step": ("steps",),
    "diurnal": ("mean_rate", "amplitude", "period", "phase"),
    "replay": ("times", "csv", "column"),
}


def profile_from_json(spec: object, now: float) -> TrafficProfile:
    """A profile from its JSON form, with every time counted from `now` (the moment it is
    attached): `{"kind": "poisson", "rate": 50}`, `{"kind": "step", "steps": [[0, 5],
    [60, 50]]}`, `{"kind": "diurnal", "mean_rate": 20, "period": 3600}`, `{"kind":
    "replay", "times": [0.5, 1.2]}` or `{"kind": "replay", "csv": "t\\n0.5\\n", "column":
    "t"}`. Raises ValueError with what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError("a traffic profile must be an object")
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in PROFILE_FIELDS:
        raise ValueError(f"[kind] must be one of {list(PROFILE_FIELDS)}, got [{kind}]")
    unknown = sorted(set(spec) - {"kind", *PROFILE_FIELDS[kind]})
    if unknown:
        raise ValueError(f"unknown field [{unknown[0]}] for a [{kind}] profile")
    if kind in ("constant", "poisson"):
        rate = _number(spec, "rate")
        return ConstantRate(rate) if kind == "constant" else Poisson(rate)
    if kind == "step":
        steps = spec.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, list) and len(s) == 2 for s in steps):
            raise ValueError("[steps] must be a list of [seconds, rate] pairs")
        pairs = tuple((now + _finite(t, "steps"), _finite(r, "steps")) for t, r in steps)
        return Step(pairs)
    if kind == "diurnal":
        optional = {name: _number(spec, name) for name in ("amplitude", "period", "phase") if name in spec}
        optional["phase"] = now + optional.get("phase", 0.0)
        return Diurnal(_number(spec, "mean_rate"), **optional)
    if ("times" in spec) == ("csv" in spec):
        raise ValueError("a [replay] profile needs exactly one of [times] and [csv]")
    if "times" in spec:
        times = spec["times"]
        if not isinstance(times, list):
            raise ValueError("[times] must be a list of seconds")
        _check_replay_size(len(times))
        values = np.array([_finite(t, "times") for t in times], dtype=float)
        if np.any(np.diff(values) < 0):
            raise ValueError("[times] must be sorted")
        return Replay(now + values)
    if not isinstance(spec["csv"], str):
        raise ValueError("[csv] must be the text of a CSV trace")
    column = spec.get("column", 0)
    if isinstance(column, bool) or not isinstance(column, (int, str)):
        raise ValueError("[column] must be a column index or a header name")
    return Replay(now + parse_timestamps(io.StringIO(spec["csv"]), column, MAX_REPLAY_TIMES))


def _check_replay_size(count: int) -> None:
    if count > MAX_REPLAY_TIMES:
        raise ValueError(f"a replay holds at most [{MAX_REPLAY_TIMES}] timestamps, got [{count}]")


def _number(spec: dict, name: str) -> float:
    if name not in spec:
        raise ValueError(f"[{name}] is required")
    return _finite(spec[name], name)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"[{name}] must hold finite numbers, got [{value}]")
    return float(value)
