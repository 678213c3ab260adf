"""Node shapes and cluster settings from plain JSON data (`--cluster` files, `POST /_sim/nodes`).

A cluster file is `{"settings": {...}, "nodes": [{...}, ...]}`; both keys are optional.
Every problem is a `ConfigError` naming where it is (`nodes[1].machine_memory: …`), so the
command line and the REST layer can show it as it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from nodes.resources import NodeSpec
from nodes.timing import NodeTiming
from scheduler import PLANNER_MODES

from .bytesize import parse_byte_size
from .settings import ClusterSettings
from .timevalue import parse_time_value

NODE_FIELDS = (
    "name", "machine_memory", "allocated_processors", "jvm_size", "zone", "attributes",
    "other_ml_memory_bytes", "node_id",
)
SETTINGS_FIELDS = (
    "cluster_name", "max_machine_memory_percent", "use_auto_machine_memory_percent",
    "allocated_processors_scale", "awareness_attributes", "max_lazy_ml_nodes", "max_ml_node_size",
    "planner_mode", "timing", "event_log_capacity",
)
TIMING_FIELDS = ("process_start_seconds", "load_bandwidth_bytes_per_second", "resize_seconds", "stop_seconds")


class ConfigError(ValueError):
    """A malformed node shape, setting or cluster file; the message says where and why."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    settings: ClusterSettings
    nodes: tuple[NodeSpec, ...]


def parse_node_spec(data: Any, default_name: str, where: str = "node") -> NodeSpec:
    """A `NodeSpec` from a JSON object; `default_name` is used when it names none."""
    fields = _object(data, where)
    _check_known(fields, NODE_FIELDS, where)
    read = _Reader(fields, where)
    spec: dict[str, Any] = {"name": read.text("name") or default_name}
    if "machine_memory" in fields:
        spec["machine_memory"] = read.bytes("machine_memory")
    if "allocated_processors" in fields:
        spec["allocated_processors"] = read.number("allocated_processors")
    for name in ("jvm_size", "other_ml_memory_bytes"):
        if name in fields:
            spec[name] = read.bytes(name)
    for name in ("zone", "node_id"):
        if name in fields:
            spec[name] = read.text(name)
    if "attributes" in fields:
        spec["attributes"] = read.attributes("attributes")
    if spec.get("node_id") == "":
        raise ConfigError(f"{where}.node_id: must not be empty")
    node = _build(NodeSpec, spec, where)
    if node.effective_jvm_size >= node.machine_memory:
        raise ConfigError(f"{where}.jvm_size: must be smaller than machine_memory")
    return node


def parse_settings(data: Any, where: str = "settings") -> ClusterSettings:
    """`ClusterSettings` from a JSON object; missing fields keep their defaults."""
    fields = _object(data, where)
    _check_known(fields, SETTINGS_FIELDS, where)
    read = _Reader(fields, where)
    settings: dict[str, Any] = {}
    for name, parse in (
        ("cluster_name", read.text),
        ("max_machine_memory_percent", read.integer),
        ("use_auto_machine_memory_percent", read.boolean),
        ("allocated_processors_scale", read.number),
        ("max_lazy_ml_nodes", read.integer),
        ("max_ml_node_size", read.bytes),
        ("event_log_capacity", read.integer),
        ("planner_mode", read.text),
    ):
        if name in fields:
            settings[name] = parse(name)
    if "planner_mode" in settings and settings["planner_mode"] not in PLANNER_MODES:
        raise ConfigError(f"{where}.planner_mode: must be one of {list(PLANNER_MODES)}, got [{settings['planner_mode']}]")
    if "awareness_attributes" in fields:
        settings["awareness_attributes"] = read.strings("awareness_attributes")
    if "timing" in fields:
        settings["timing"] = _parse_timing(fields["timing"], f"{where}.timing")
    if settings.get("event_log_capacity", 1) < 1:
        raise ConfigError(f"{where}.event_log_capacity: must be a positive integer")
    return _build(ClusterSettings, settings, where)


def parse_cluster(data: Any) -> ClusterConfig:
    """The whole cluster file: settings, then nodes named `ml-1`, `ml-2`, … unless named."""
    fields = _object(data, "cluster file")
    _check_known(fields, ("settings", "nodes"), "cluster file")
    settings = parse_settings(fields.get("settings", {}))
    raw_nodes = fields.get("nodes", [])
    if not isinstance(raw_nodes, list):
        raise ConfigError(f"nodes: must be a list of node objects, got {_kind(raw_nodes)}")
    nodes = tuple(
        parse_node_spec(node, f"ml-{i + 1}", f"nodes[{i}]") for i, node in enumerate(raw_nodes)
    )
    for kind, key in (("name", lambda s: s.name), ("node_id", lambda s: s.node_id)):
        seen: set[str] = set()
        for i, spec in enumerate(nodes):
            value = key(spec)
            if value is not None and value in seen:
                raise ConfigError(f"nodes[{i}].{kind}: [{value}] is used by an earlier node")
            seen.add(value)
    return ClusterConfig(settings, nodes)


def free_node_name(taken: Iterable[str]) -> str:
    """The first `ml-N` not in `taken`, for nodes added without a name."""
    names = set(taken)
    n = 1
    while f"ml-{n}" in names:
        n += 1
    return f"ml-{n}"


def load_cluster_file(path: str | Path) -> ClusterConfig:
    """Read and parse a cluster file; ConfigError (with the file name) for any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read cluster file: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return parse_cluster(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _parse_timing(data: Any, where: str) -> NodeTiming:
    fields = _object(data, where)
    _check_known(fields, TIMING_FIELDS, where)
    read = _Reader(fields, where)
    timing: dict[str, Any] = {}
    for name in TIMING_FIELDS:
        if name == "load_bandwidth_bytes_per_second" and name in fields:
            timing[name] = read.bytes(name)
        elif name in fields:
            timing[name] = read.seconds(name)
    return _build(NodeTiming, timing, where)


class _Reader:
    """Typed reads of one JSON object's fields, each failing with `where.field: why`."""

    def __init__(self, fields: Mapping[str, Any], where: str) -> None:
        self.fields = fields
        self.where = where

    def _fail(self, name: str, expected: str) -> ConfigError:
        value = self.fields[name]
        return ConfigError(f"{self.where}.{name}: must be {expected}, got {_kind(value)} [{json.dumps(value)}]")

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._fail(name, "a string")

    def boolean(self, name: str) -> bool:
        value = self.fields[name]
        if isinstance(value, bool):
            return value
        raise self._fail(name, "true or false")

    def integer(self, name: str) -> int:
        value = self.fields[name]
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._fail(name, "an integer")

    def number(self, name: str) -> float:
        value = self.fields[name]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise self._fail(name, "a number")

    def bytes(self, name: str) -> int:
        try:
            return parse_byte_size(self.fields[name], name)
        except ValueError as exc:
            raise ConfigError(f"{self.where}.{name}: {exc}") from None

    def seconds(self, name: str) -> float:
        value = self.fields[name]
        if isinstance(value, str):
            try:
                return parse_time_value(value, name)
            except ValueError as exc:
                raise ConfigError(f"{self.where}.{name}: {exc}") from None
        return self.number(name)

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.fields[name]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self._fail(name, "a list of strings")

    def attributes(self, name: str) -> dict[str, str]:
        value = self.fields[name]
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return dict(value)
        raise self._fail(name, "an object of string values")


def _object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a JSON object, got {_kind(data)}")
    return data


def _check_known(fields: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown field [{unknown[0]}]; known fields are {list(known)}")


def _build(factory: Callable[..., Any], values: dict[str, Any], where: str) -> Any:
    """Construct, turning the dataclass's own range checks into ConfigErrors."""
    try:
        return factory(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _kind(value: Any) -> str:
    return {
        dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
        float: "a number", type(None): "null",
    }.get(type(value), type(value).__name__)


# What other file formats built on this one (scenario files) read their fields with.
FieldReader = _Reader
require_object = _object
check_known = _check_known
kind_of = _kind
