"""The sweep's grid: `--grid key=v1,v2,...` options expanded into points (every
combination, in the order the options and values were given), and `LO..HI` integer
ranges (`--vary`, or a grid's values). Pure: no I/O, no simulation.

A value is read as YAML, as `--set` reads it (`8` is a number, `10m` a string); the
text as written is kept for results.csv and directory names.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Sequence

import yaml

from cluster.config import ConfigError

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
#: Characters kept in a run directory's name; anything else becomes `_`.
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclass(frozen=True, slots=True)
class Axis:
    """One `--grid` option: a dotted scenario key and its values (text as written)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Point:
    """One combination of the axes' values."""

    settings: tuple[tuple[str, str], ...]  # (key, value text), in axis order

    def overrides(self) -> dict[str, Any]:
        """The `--set` overrides of this point, values read as YAML."""
        return {key: parse_value(text) for key, text in self.settings}

    @property
    def label(self) -> str:
        """`key=value,key=value`, safe as one directory name."""
        return _UNSAFE.sub("_", ",".join(f"{k}={v}" for k, v in self.settings)) or "base"


def parse_range(text: str, option: str) -> tuple[int, int]:
    """`LO..HI` (integers, LO <= HI)."""
    match = _RANGE.match(text)
    if not match:
        raise ConfigError(f"{option}: expected an integer range LO..HI, got [{text}]")
    low, high = int(match[1]), int(match[2])
    if low > high:
        raise ConfigError(f"{option}: the range {low}..{high} is empty (LO must not exceed HI)")
    return low, high


def parse_key_value(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ConfigError(f"{option} {text}: expected dotted.key=VALUES")
    return key.strip(), value.strip()


def parse_axis(text: str) -> Axis:
    """`key=v1,v2,...` or `key=LO..HI` (every integer from LO to HI)."""
    key, raw = parse_key_value(text, "--grid")
    if _RANGE.match(raw):
        low, high = parse_range(raw, f"--grid {key}")
        values = tuple(str(v) for v in range(low, high + 1))
    else:
        values = tuple(v.strip() for v in raw.split(","))
    if any(not v for v in values):
        raise ConfigError(f"--grid {text}: a value is empty")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ConfigError(f"--grid {text}: {repeated} listed more than once")
    for value in values:
        parse_value(value, f"--grid {key}")
    return Axis(key, values)


def parse_value(text: str, option: str = "--grid") -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{option}: [{text}] is not valid YAML: {exc}") from None


def expand(axes: Sequence[Axis]) -> list[Point]:
    """Every combination; the first axis varies slowest. No axes: the scenario itself."""
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--grid: a key is given twice in {keys}")
    combos = itertools.product(*(a.values for a in axes))
    points = [Point(tuple(zip(keys, combo))) for combo in combos]
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise ConfigError("--grid: two points would share a run directory (values differing only in characters "
                          "outside [A-Za-z0-9._=,+-]); write them differently")
    return points
