"""ml-commons' `{"limit", "unit"}` rate limiter and the token bucket it becomes on a node."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import illegal_argument, parse_exception
from .xcontent import JAVA_DOUBLE, JsonFields

#: `java.util.concurrent.TimeUnit` names and their length in seconds.
TIME_UNITS: dict[str, float] = {
    "NANOSECONDS": 1e-9,
    "MICROSECONDS": 1e-6,
    "MILLISECONDS": 1e-3,
    "SECONDS": 1.0,
    "MINUTES": 60.0,
    "HOURS": 3600.0,
    "DAYS": 86400.0,
}


@dataclass(frozen=True, slots=True)
class RateLimiter:
    """`MLRateLimiter`: both fields optional, stored as strings (`limit` as sent)."""

    limit: str | None = None
    unit: str | None = None

    @classmethod
    def parse(cls, value: Any, fields: JsonFields, *path: str) -> RateLimiter:
        """A body's `{"limit", "unit"}`; unknown keys are skipped, as ml-commons does."""
        limit = unit = None
        for key, item in JsonFields.object(value).items():
            if key == "limit":
                limit = fields.text(item, *path, key)
                if not _is_non_negative_number(limit):
                    raise parse_exception("Limit field must be a positive number.")
            elif key == "unit":
                unit = fields.text(item, *path, key)
                if unit not in TIME_UNITS:
                    raise illegal_argument(f"No enum constant java.util.concurrent.TimeUnit.{unit}")
        return cls(limit, unit)

    @classmethod
    def from_doc(cls, doc: Any) -> RateLimiter | None:
        """The limiter stored in a model or controller document (None when absent)."""
        if not isinstance(doc, dict):
            return None
        return cls(doc.get("limit"), doc.get("unit"))

    def to_doc(self) -> dict[str, str]:
        return {k: v for k, v in (("limit", self.limit), ("unit", self.unit)) if v is not None}

    @property
    def valid(self) -> bool:
        """Both fields set: only then does the limiter throttle anything."""
        return self.limit is not None and self.unit is not None

    @property
    def empty(self) -> bool:
        return self.limit is None and self.unit is None

    def merged(self, update: RateLimiter) -> RateLimiter:
        """Field by field; a missing field never overwrites (so a limiter can't be removed)."""
        return RateLimiter(
            update.limit if update.limit is not None else self.limit,
            update.unit if update.unit is not None else self.unit,
        )

    @staticmethod
    def changes(current: RateLimiter | None, update: RateLimiter | None) -> bool:
        """ml-commons' pre-check: does `update` change anything in `current`?"""
        if update is None:
            return False
        if current is None:
            return True
        if update.empty:
            return False
        return (update.limit is not None and update.limit != current.limit) or (
            update.unit is not None and update.unit != current.unit
        )

    def deploy_required(self, update: RateLimiter) -> bool:
        """Whether a node's bucket must be rebuilt after merging `update` into this limiter."""
        if not RateLimiter.changes(self, update):
            return False
        return update.valid or (self.unit is not None and update.limit is not None) or (
            self.limit is not None and update.unit is not None
        )

    def bucket(self, workers: int, now: float) -> TokenBucket | None:
        """The per-node bucket: `limit / workers` tokens per unit, as many in the bucket at most
        (at least one), full at first; None when the limiter throttles nothing. Raises
        ValueError for a zero limit, which parses but makes a bucket with no refill, which
        OpenSearch's TokenBucket refuses."""
        if not self.valid:
            return None
        limit = float(self.limit.strip().rstrip("fFdD"))
        if not limit > 0 or not math.isfinite(limit):
            raise ValueError("rate must be greater than zero")
        share = limit / max(workers, 1)
        return TokenBucket(limit, max(workers, 1) * TIME_UNITS[self.unit], max(share, 1.0), now)


class TokenBucket:
    """OpenSearch's TokenBucket on simulated time: `limit` tokens per `period` seconds, refilled
    continuously up to `burst`; a request takes one token or is refused."""

    __slots__ = ("limit", "period", "burst", "tokens", "refilled_at")

    def __init__(self, limit: float, period: float, burst: float, now: float) -> None:
        self.limit = limit
        self.period = period
        self.burst = burst
        self.tokens = burst
        self.refilled_at = now

    def request(self, now: float) -> bool:
        # elapsed × limit / period in one expression keeps whole refills exact (30 s of
        # 4 per 2 minutes is exactly one token).
        self.tokens = min(self.burst, self.tokens + (now - self.refilled_at) * self.limit / self.period)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _is_non_negative_number(text: str) -> bool:
    stripped = text.strip()
    return bool(JAVA_DOUBLE.fullmatch(stripped)) and not stripped.startswith("-")
