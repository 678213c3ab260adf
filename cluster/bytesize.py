"""Elasticsearch byte-size values (`16gb`, `512mb`, `1.5g`) parsed into bytes.

The printing side lives in `scheduler.memory.format_bytes`; this is the reading side, so a
node shape can be written the way an operator writes `xpack.ml` settings.
"""

from __future__ import annotations

import re

_UNITS = {
    "b": 1,
    "k": 1 << 10, "kb": 1 << 10,
    "m": 1 << 20, "mb": 1 << 20,
    "g": 1 << 30, "gb": 1 << 30,
    "t": 1 << 40, "tb": 1 << 40,
    "p": 1 << 50, "pb": 1 << 50,
}
_PATTERN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


#: Elasticsearch's byte sizes are Java longs.
MAX_BYTES = 2**63 - 1


def parse_byte_size(value: object, setting: str) -> int:
    """Bytes in `value`: a non-negative integer, or a number with a unit, at most a Java long
    as in Elasticsearch's `ByteSizeValue`; ValueError otherwise."""
    size = _parse_byte_size(value, setting)
    if size > MAX_BYTES:
        raise ValueError(f"Values greater than {MAX_BYTES} bytes are not supported: {value}")
    return size


def _parse_byte_size(value: object, setting: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"[{setting}] must be a byte size such as 16gb or a number of bytes, got [{value}]")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"[{setting}] must not be negative, got [{value}]")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        match = _PATTERN.fullmatch(text)
        if match and match.group(2) in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2)])
        raise ValueError(
            f"failed to parse setting [{setting}] with value [{value}] as a size in bytes: "
            "unit is missing or unrecognized"
        )
    raise ValueError(f"[{setting}] must be a byte size such as 16gb or a number of bytes, got [{value}]")
