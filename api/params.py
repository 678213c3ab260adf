"""Query parameters as Elasticsearch reads them, and the unknown-parameter check.

An endpoint names the parameters it understands; anything else is refused before the
request runs, with the same message (and "did you mean" hint) Elasticsearch gives.
"""

from __future__ import annotations

from typing import Iterable

from aiohttp import web

from cluster.bytesize import parse_byte_size as cluster_byte_size
from cluster.errors import MlError, illegal_argument
from cluster.timevalue import parse_time_value

#: Java's int range: ES reads these parameters and body fields as 32-bit ints.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_END = 10_000
#: Parameters every endpoint accepts (they shape the response, not the request).
GLOBAL_PARAMS = frozenset({"pretty", "human", "error_trace", "filter_path"})


class Query:
    """The request's query string, checked once against the endpoint's parameters."""

    def __init__(self, request: web.Request, accepted: Iterable[str] = ()) -> None:
        self.values = request.query
        if not self.values:  # the common case: nothing to check
            return
        known = GLOBAL_PARAMS | set(accepted)
        unknown = sorted(set(self.values) - known)
        if unknown:
            raise unrecognized(request.path, unknown, sorted(set(accepted)))
        for flag in ("pretty", "human", "error_trace"):
            self.bool(flag)

    def has(self, name: str) -> bool:
        return name in self.values

    def str(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def bool(self, name: str, default: bool = False) -> bool:
        return parse_bool(self.values.get(name), default)

    def int(self, name: str, default: int | None = None) -> int | None:
        raw = self.values.get(name)
        return default if raw is None else parse_int(raw, name)

    def page(self) -> tuple[int, int]:
        """`from` and `size` (0 and 100 by default), checked as ES checks paging."""
        start, size = self.int("from", 0), self.int("size", DEFAULT_PAGE_SIZE)
        for name, value in (("from", start), ("size", size)):
            if value < 0:
                raise illegal_argument(f"[{name}] parameter cannot be negative, found [{value}]")
        if start + size > MAX_PAGE_END:
            raise illegal_argument(f"The sum of parameters [from] and [size] cannot be higher than {MAX_PAGE_END}.")
        return start, size

    def time(self, name: str, default: float) -> float:
        """Seconds; a malformed value is ES's parse_exception."""
        raw = self.values.get(name)
        return default if raw is None else parse_time(raw, name)


def parse_int(raw: str, name: str) -> int:
    """A 32-bit int query value, with ES's message otherwise."""
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise illegal_argument(f"Failed to parse int parameter [{name}] with value [{raw}]")
    return value


def parse_time(raw: str, name: str) -> float:
    """Seconds in `30s`, `1m`, `500ms`; ES's parse_exception when malformed."""
    try:
        return parse_time_value(raw, name)
    except ValueError as exc:
        raise MlError(400, "parse_exception", str(exc)) from None


def parse_byte_size(raw: str, name: str) -> int:
    """Bytes in `10kb`, `1.5mb` or `0`; ES's parse_exception when malformed."""
    try:
        return cluster_byte_size(raw, name)
    except ValueError as exc:
        raise MlError(400, "parse_exception", str(exc)) from None


def parse_bool(raw: str | None, default: bool) -> bool:
    """A bare `?flag` means true, as in Elasticsearch; only `true`/`false` otherwise."""
    if raw is None:
        return default
    if raw in ("", "true"):
        return True
    if raw == "false":
        return False
    raise illegal_argument(f"Failed to parse value [{raw}] as only [true] or [false] are allowed.")


def unrecognized(path: str, unknown: list[str], candidates: list[str]) -> MlError:
    """ES's message for unknown parameters, with close matches suggested."""
    parts = []
    for name in unknown:
        close = sorted(
            (c for c in candidates if similarity(name, c) > 0.5),
            key=lambda c: (-similarity(name, c), c),
        )
        if not close:
            parts.append(f"[{name}]")
        elif len(close) == 1:
            parts.append(f"[{name}] -> did you mean [{close[0]}]?")
        else:
            parts.append(f"[{name}] -> did you mean any of [{', '.join(close)}]?")
    noun = "parameters" if len(unknown) > 1 else "parameter"
    return illegal_argument(f"request [{path}] contains unrecognized {noun}: {', '.join(parts)}")


def similarity(a: str, b: str) -> float:
    """1 − edit distance / longer length (the measure ES ranks suggestions by)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    longest = max(len(a), len(b)) or 1
    return 1.0 - previous[-1] / longest
