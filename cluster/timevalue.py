"""Elasticsearch time values: parse `30s`, `1m`, `500ms`; print them back the same way."""

from __future__ import annotations

import re

_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"(-?\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)")


def parse_time_value(text: str, setting: str) -> float:
    """Seconds in `text`; ValueError with Elasticsearch's message when it is malformed."""
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"failed to parse setting [{setting}] with value [{text}] as a time value: "
            "unit is missing or unrecognized"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_time_value(seconds: float) -> str:
    """The shortest exact rendering, as TimeValue prints (`30s`, `1m`, `1.5s`, `250ms`)."""
    for suffix, unit in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= unit:
            value = seconds / unit
            if value == int(value):
                return f"{int(value)}{suffix}"
            if suffix == "s":
                return f"{value:.1f}".rstrip("0").rstrip(".") + "s"
    millis = seconds * 1000
    return f"{int(millis)}ms" if millis == int(millis) else f"{millis}ms"
