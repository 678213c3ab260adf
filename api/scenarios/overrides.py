"""`--set dotted.key=value`: change any key of a scenario before it is checked, so a sweep
is a loop over overrides (`--set cluster.nodes.1.count=8`, `--set duration=10m`).

A value is read as YAML (`8` is a number, `[a, b]` a list, `10m` a string); list items are
addressed by index; a missing object key is created.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import yaml

from cluster.config import ConfigError


def apply_overrides(data: Any, overrides: Iterable[str] | Mapping[str, Any]) -> Any:
    """`data` with each override applied in order (strings `key=value`, or a mapping of
    dotted keys to values taken as they are)."""
    pairs = overrides.items() if isinstance(overrides, Mapping) else (_split(text) for text in overrides)
    for key, value in pairs:
        data = _set(data, key, value)
    return data


def _split(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected dotted.key=value")
    try:
        return key.strip(), yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text}: the value is not valid YAML: {exc}") from None


def _set(data: Any, key: str, value: Any) -> Any:
    parts = key.split(".")
    if not isinstance(data, dict):
        raise ConfigError(f"--set {key}: the scenario is not an object")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.lstrip("-").isdigit():
                raise ConfigError(f"--set {key}: [{where}] indexes a list and must be a number")
            index = int(part)
            if not -len(node) <= index < len(node):
                raise ConfigError(f"--set {key}: [{where}] is out of range (the list has {len(node)} items)")
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key}: [{'.'.join(parts[:depth])}] holds a value, not an object or list")
    return data
