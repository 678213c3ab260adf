"""ml-commons' `{"limit", "unit"}` rate limiter and the token bucket it becomes on a node.

Also `JsonFields`, the update and controller APIs' reading of body values: as `xcontent`
does, plus the token position the real parser puts in its messages ("Can't get text on a
VALUE_NULL at 1:10"), found in the body as sent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .errors import MlError, illegal_argument, parse_exception
from .xcontent import expecting, token_name

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

#: What `Double.parseDouble` accepts (after trimming), as a full match.
_JAVA_DOUBLE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?")

Path = tuple[str, ...]


class JsonFields:
    """Reads body values as ml-commons' XContent parsing does, with Jackson's token positions.

    `text` is the request body as sent (positions are 1-based line:column of each value's
    first character, Jackson's token location); without it, positions are those of the
    compact JSON of the value, which is what the official clients send.
    """

    def __init__(self, body: Any, text: str | None = None) -> None:
        self._body = body
        self._text = text

    @cached_property
    def positions(self) -> dict[Path, tuple[int, int]]:
        """Found only when an error needs one."""
        text = self._text if self._text is not None else json.dumps(self._body, separators=(",", ":"))
        return _value_positions(text)

    def text(self, value: Any, *path: str) -> str:
        """`parser.text()`: any scalar as a string; null or a container is refused."""
        if value is None or isinstance(value, (dict, list)):
            line, column = self.positions.get(path, (1, 1))
            raise parse_exception(f"Can't get text on a {token_name(value)} at {line}:{column}")
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value) if isinstance(value, float) else str(value)

    def boolean(self, value: Any, *path: str) -> bool:
        """`parser.booleanValue()`: a boolean, or the string "true"/"false" ("" reads false)."""
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value in ("true", "false", ""):
                return value == "true"
            raise illegal_argument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
        raise self._jackson(value, path, "not of boolean type")

    def integer(self, value: Any, *path: str) -> int:
        """`parser.intValue()` (coercing): a number (truncated) or a numeric string."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return int(value)
        if isinstance(value, str):
            stripped = value.strip()
            if _JAVA_DOUBLE.fullmatch(stripped):
                return int(float(stripped.rstrip("fFdD")))
            raise MlError(400, "number_format_exception", f'For input string: "{value}"')
        raise self._jackson(value, path, "not numeric, can not use numeric value accessors")

    def _jackson(self, value: Any, path: Path, problem: str) -> MlError:
        """Jackson's own refusal of a token (400 json_parse_exception), located after it."""
        names = {True: "VALUE_TRUE", False: "VALUE_FALSE"}
        if isinstance(value, bool):
            name = names[value]
        elif isinstance(value, (int, float)):
            name = "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
        else:
            name = token_name(value)
        line, column = self.positions.get(path, (1, 1))
        width = 1 if isinstance(value, (dict, list)) else len(json.dumps(value))
        return MlError(
            400,
            "json_parse_exception",
            f"Current token ({name}) {problem}\n at [Source: REDACTED "
            f"(`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: {line}, column: {column + width}]",
        )

    @staticmethod
    def object(value: Any) -> dict[str, Any]:
        """A nested object read with `ensureExpectedToken(START_OBJECT)`."""
        if not isinstance(value, dict):
            raise expecting("START_OBJECT", value)
        return value


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
    return bool(_JAVA_DOUBLE.fullmatch(stripped)) and not stripped.startswith("-")


def _value_positions(text: str) -> dict[Path, tuple[int, int]]:
    """1-based (line, column) of every object member's value, by key path."""
    positions: dict[Path, tuple[int, int]] = {}
    decoder = json.JSONDecoder()
    whitespace = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return whitespace.match(text, i).end()

    def record(path: Path, i: int) -> None:
        line = text.count("\n", 0, i) + 1
        positions[path] = (line, i - (text.rfind("\n", 0, i) + 1) + 1)

    def value(i: int, path: Path) -> int:
        i = skip(i)
        record(path, i)
        if text.startswith("{", i):
            i = skip(i + 1)
            while not text.startswith("}", i):
                key, i = decoder.raw_decode(text, i)
                i = skip(skip(i) + 1)  # past the colon
                i = skip(value(i, (*path, str(key))))
                if text.startswith(",", i):
                    i = skip(i + 1)
            return i + 1
        if text.startswith("[", i):
            i = skip(i + 1)
            index = 0
            while not text.startswith("]", i):
                i = skip(value(i, (*path, str(index))))
                index += 1
                if text.startswith(",", i):
                    i = skip(i + 1)
            return i + 1
        return decoder.raw_decode(text, i)[1]

    try:
        value(0, ())
    except (ValueError, AttributeError, IndexError):
        pass  # positions are a courtesy; the body itself was parsed already
    return positions
