"""The scenario file: YAML or JSON, checked whole before anything runs, every problem a
`ScenarioError` naming the file and key path (`lose-zone.yaml: timeline[2].at: …`).

The cluster part is the `--cluster` file's shape (parsed by `cluster.config`), plus node
groups (`count`, `zones` round-robin); traffic entries are `POST /_sim/traffic` bodies;
timeline actions and SLO checks come from their own registries (`actions`, `slo`), so a
new key is one entry there.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from cluster.config import (
    NODE_FIELDS, ConfigError, FieldReader, check_known, free_node_name, kind_of, parse_node_spec,
    parse_settings, require_object,
)
from cluster.errors import MlError
from cluster.requests import AdaptiveAllocations, StartRequest
from cluster.settings import ClusterSettings
from cluster.traffic import profile_from_json
from nodes.resources import NodeSpec
from nodes.service_model import InferenceProfile

from .overrides import apply_overrides

TOP_FIELDS = (
    "name", "description", "seed", "duration", "sample_every", "warm_up", "cluster", "models", "deployments", "traffic",
    "timeline", "slo",
)
GROUP_FIELDS = ("count", "zones")
MODEL_FIELDS = ("model_id", "model_bytes", "task_type", "inference")
DEPLOYMENT_FIELDS = (
    "model_id", "deployment_id", "number_of_allocations", "threads_per_allocation", "queue_capacity", "priority",
    "cache_size", "adaptive_allocations",
)
ADAPTIVE_FIELDS = ("enabled", "min_number_of_allocations", "max_number_of_allocations")
TASK_TYPES = ("text_embedding", "text_expansion", "ner", "text_classification", "fill_mask", "question_answering",
              "zero_shot_classification", "text_similarity", "pass_through")
#: Traffic profile fields that hold simulated times (time values allowed, e.g. `24h`).
TRAFFIC_TIME_FIELDS = ("period", "phase")
DEFAULT_SAMPLE_EVERY = 10.0


class ScenarioError(ConfigError):
    """An invalid scenario (file, key path and why); `mlsim run` exits 2 with it."""


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """`count` nodes of one shape, zones taken round-robin; names are the first free `ml-N`
    unless the entry names its single node."""

    template: Mapping[str, Any]
    count: int = 1
    zones: tuple[str, ...] = ()
    where: str = "node"

    def specs(self, taken: Iterable[str]) -> list[NodeSpec]:
        names = set(taken)
        found = []
        for i in range(self.count):
            fields = dict(self.template)
            if self.zones:
                fields["zone"] = self.zones[i % len(self.zones)]
            spec = parse_node_spec(fields, free_node_name(names), self.where)
            names.add(spec.name)
            found.append(spec)
        return found


@dataclass(frozen=True, slots=True)
class ModelSpec:
    model_id: str
    model_bytes: int
    task_type: str = "text_embedding"
    inference: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """A `POST /_sim/traffic` body (times already in seconds) for one deployment."""

    deployment_id: str
    profile: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    index: int
    at: float
    do: str
    action: Any  # an `actions` action: `apply(context) -> dict`


@dataclass(frozen=True, slots=True)
class SloSpec:
    deployment_id: str
    check: str
    target: float


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    duration: float
    sample_every: float
    settings: ClusterSettings
    nodes: tuple[NodeGroup, ...]
    models: tuple[ModelSpec, ...]
    deployments: tuple[StartRequest, ...]
    traffic: tuple[TrafficSpec, ...]
    timeline: tuple[TimelineEvent, ...]
    slo: tuple[SloSpec, ...]
    description: str = ""
    warm_up: bool = True
    source: str = "scenario"
    #: The file's data with the overrides applied (written as `scenario.json`).
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def deployment_ids(self) -> list[str]:
        """Deployments the scenario starts, first at time zero then in its timeline."""
        ids = [d.deployment_id or d.model_id for d in self.deployments]
        ids += [e.action.request.deployment_id or e.action.request.model_id for e in self.timeline if e.do == "start_deployment"]
        return list(dict.fromkeys(ids))


def load_scenario(path_or_dict: str | Path | Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Read (YAML or JSON), apply `--set` overrides, validate; ScenarioError if anything is wrong."""
    if isinstance(path_or_dict, Mapping):
        source, data = "scenario", copy.deepcopy(dict(path_or_dict))
    else:
        source, data = str(path_or_dict), _read(Path(path_or_dict))
    try:
        data = apply_overrides(data, overrides)
        return parse_scenario(data, source)
    except ConfigError as exc:
        message = str(exc).removeprefix("scenario.").removeprefix("scenario: ")
        raise ScenarioError(f"{source}: {message}") from None


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text) if path.suffix != ".json" else json.loads(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ScenarioError(f"{path}{where}: invalid YAML: {exc.problem}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """The checked scenario; ConfigError (key path and why) for the first problem found."""
    from . import actions, slo  # their parsers build on the helpers of this module

    fields = require_object(data, "scenario")
    check_known(fields, TOP_FIELDS, "scenario")
    read = FieldReader(fields, "scenario")
    _require(fields, "duration", "scenario")
    duration = read.seconds("duration")
    if not duration > 0:
        raise ConfigError("duration: must be positive")
    sample_every = read.seconds("sample_every") if "sample_every" in fields else DEFAULT_SAMPLE_EVERY
    if not sample_every > 0:
        raise ConfigError("sample_every: must be positive")
    seed = read.integer("seed") if "seed" in fields else 0
    name = read.text("name") or (Path(source).stem if source != "scenario" else "scenario")
    settings, nodes = _parse_cluster(fields.get("cluster", {}))
    models = tuple(_parse_model(m, f"models[{i}]") for i, m in enumerate(_list(fields, "models")))
    _unique([m.model_id for m in models], "models", "model_id")
    model_ids = {m.model_id for m in models}
    deployments = tuple(
        parse_start(d, f"deployments[{i}]", model_ids) for i, d in enumerate(_list(fields, "deployments"))
    )
    context = actions.ParseContext(model_ids, {d.deployment_id or d.model_id for d in deployments})
    _unique([d.deployment_id or d.model_id for d in deployments], "deployments", "deployment_id")
    timeline = tuple(
        actions.parse_event(e, i, f"timeline[{i}]", context) for i, e in enumerate(_list(fields, "timeline"))
    )
    known = context.deployment_ids
    traffic = tuple(parse_traffic(t, f"traffic[{i}]", known) for i, t in enumerate(_list(fields, "traffic")))
    checks = tuple(c for i, s in enumerate(_list(fields, "slo")) for c in slo.parse_slo(s, f"slo[{i}]", known))
    return Scenario(
        name=name, seed=seed, duration=duration, sample_every=sample_every, settings=settings, nodes=nodes,
        models=models, deployments=deployments, traffic=traffic,
        timeline=tuple(sorted(timeline, key=lambda e: (e.at, e.index))), slo=checks,
        description=read.text("description") or "", source=source, data=data,
        warm_up=read.boolean("warm_up") if "warm_up" in fields else True,
    )


def _parse_cluster(data: Any) -> tuple[ClusterSettings, tuple[NodeGroup, ...]]:
    fields = require_object(data, "cluster")
    check_known(fields, ("settings", "nodes"), "cluster")
    settings = parse_settings(fields.get("settings", {}), "cluster.settings")
    groups = tuple(parse_node_group(n, f"cluster.nodes[{i}]") for i, n in enumerate(_list(fields, "nodes", "cluster")))
    _unique([g.template.get("name") for g in groups], "cluster.nodes", "name")
    return settings, groups


def parse_node_group(data: Any, where: str, extra: tuple[str, ...] = ()) -> NodeGroup:
    """A node entry of the cluster file's shape, or a group of them (`count`, `zones`)."""
    fields = require_object(data, where)
    check_known(fields, (*NODE_FIELDS, *GROUP_FIELDS, *extra), where)
    read = FieldReader(fields, where)
    count = read.integer("count") if "count" in fields else 1
    if count < 1:
        raise ConfigError(f"{where}.count: must be a positive integer")
    zones = read.strings("zones") if "zones" in fields else ()
    if "zones" in fields and (not zones or "zone" in fields):
        raise ConfigError(f"{where}.zones: must be a non-empty list, and not given with [zone]")
    if count > 1 and ("name" in fields or "node_id" in fields):
        raise ConfigError(f"{where}.count: a group of nodes cannot take one [name] or [node_id]")
    template = {k: v for k, v in fields.items() if k not in (*GROUP_FIELDS, *extra)}
    group = NodeGroup(template, count, tuple(zones), where)
    group.specs([])  # every shape problem now, with its path
    return group


def _parse_model(data: Any, where: str) -> ModelSpec:
    fields = require_object(data, where)
    check_known(fields, MODEL_FIELDS, where)
    read = FieldReader(fields, where)
    for name in ("model_id", "model_bytes"):
        _require(fields, name, where)
    model_id = read.text("model_id") or ""
    if not model_id:
        raise ConfigError(f"{where}.model_id: must not be empty")
    task_type = read.text("task_type") or "text_embedding"
    if task_type not in TASK_TYPES:
        raise ConfigError(f"{where}.task_type: must be one of {list(TASK_TYPES)}, got [{task_type}]")
    inference = None
    if "inference" in fields:
        inference = dict(require_object(fields["inference"], f"{where}.inference"))
        try:
            InferenceProfile(**inference)
        except TypeError as exc:
            raise ConfigError(f"{where}.inference: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{where}.inference: {exc}") from None
    return ModelSpec(model_id, read.bytes("model_bytes"), task_type, inference)


def parse_start(data: Any, where: str, model_ids: set[str], extra: tuple[str, ...] = ()) -> StartRequest:
    """A deployment to start, as the start API takes it (checked with its messages)."""
    fields = require_object(data, where)
    check_known(fields, (*DEPLOYMENT_FIELDS, *extra), where)
    read = FieldReader(fields, where)
    _require(fields, "model_id", where)
    model_id = read.text("model_id") or ""
    if model_id not in model_ids:
        raise ConfigError(f"{where}.model_id: no model [{model_id}] in [models]")
    options: dict[str, Any] = {"model_id": model_id, "wait_for": "starting"}
    if "deployment_id" in fields:
        options["deployment_id"] = read.text("deployment_id")
    for name in ("number_of_allocations", "threads_per_allocation", "queue_capacity"):
        if name in fields:
            options[name] = read.integer(name)
    if "priority" in fields:
        options["priority"] = read.text("priority")
        if options["priority"] not in ("normal", "low"):
            raise ConfigError(f"{where}.priority: must be one of ['normal', 'low'], got [{options['priority']}]")
    if "cache_size" in fields:
        options["cache_size"] = read.bytes("cache_size")
    if "adaptive_allocations" in fields:
        options["adaptive_allocations"] = parse_adaptive(fields["adaptive_allocations"], f"{where}.adaptive_allocations")
    request = StartRequest(**options)
    try:
        request.validate()
    except MlError as exc:
        raise ConfigError(f"{where}: {exc.reason}") from None
    return request


def parse_adaptive(data: Any, where: str) -> AdaptiveAllocations:
    fields = require_object(data, where)
    check_known(fields, ADAPTIVE_FIELDS, where)
    read = FieldReader(fields, where)
    return AdaptiveAllocations(
        enabled=read.boolean("enabled") if "enabled" in fields else False,
        min_number_of_allocations=read.integer("min_number_of_allocations") if "min_number_of_allocations" in fields else None,
        max_number_of_allocations=read.integer("max_number_of_allocations") if "max_number_of_allocations" in fields else None,
    )


def parse_traffic(data: Any, where: str, deployment_ids: set[str]) -> TrafficSpec:
    """`{deployment_id, kind, ...}`: a `POST /_sim/traffic` body; times may be time values."""
    fields = require_object(data, where)
    deployment_id = deployment_reference(fields, where, deployment_ids)
    return TrafficSpec(deployment_id, parse_profile({k: v for k, v in fields.items() if k != "deployment_id"}, where))


def parse_profile(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A traffic profile body with time values turned into seconds, checked by the same
    parser `POST /_sim/traffic` uses."""
    profile = dict(fields)
    read = FieldReader(profile, where)
    for name in TRAFFIC_TIME_FIELDS:
        if name in profile:
            profile[name] = read.seconds(name)
    if isinstance(profile.get("steps"), list):
        profile["steps"] = [
            [_seconds(step[0], f"{where}.steps[{i}][0]"), step[1]] if isinstance(step, list) and len(step) == 2 else step
            for i, step in enumerate(profile["steps"])
        ]
    if isinstance(profile.get("times"), list):
        profile["times"] = [_seconds(t, f"{where}.times[{i}]") for i, t in enumerate(profile["times"])]
    try:
        profile_from_json(profile, 0.0)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return profile


def deployment_reference(fields: Mapping[str, Any], where: str, deployment_ids: set[str]) -> str:
    _require(fields, "deployment_id", where)
    deployment_id = FieldReader(fields, where).text("deployment_id") or ""
    if deployment_id not in deployment_ids:
        raise ConfigError(
            f"{where}.deployment_id: no deployment [{deployment_id}] in [deployments] or a start_deployment action"
        )
    return deployment_id


def _seconds(value: Any, where: str) -> Any:
    """A time value as seconds; other values pass (the profile parser reports them)."""
    if isinstance(value, str):
        head, _, name = where.rpartition(".")
        return FieldReader({name: value}, head).seconds(name)
    return value


def _require(fields: Mapping[str, Any], name: str, where: str) -> None:
    if name not in fields:
        raise ConfigError(f"{where}: [{name}] is required" if where != "scenario" else f"[{name}] is required")


def _list(fields: Mapping[str, Any], name: str, where: str = "") -> list[Any]:
    value = fields.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where + '.' if where else ''}{name}: must be a list, got {kind_of(value)}")
    return value


def _unique(values: list[str | None], where: str, key: str) -> None:
    """Each value once (None: the entry names none)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value is None:
            continue
        if value in seen:
            raise ConfigError(f"{where}[{i}].{key}: [{value}] is used by an earlier entry")
        seen.add(value)
