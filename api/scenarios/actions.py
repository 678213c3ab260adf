"""Timeline actions: `{at, do, ...}` entries, checked when the file is read and applied at
their simulated time.

Shorthands call the cluster's own services (the code the REST handlers call); `request`
sends any REST call of either dialect or `/_sim` through the app itself. A refusal at run
time (a 429, an unknown node) is part of the story, not an invalid scenario: the runner
records it and goes on. A new action is one class with `DO`, `FIELDS`, `parse`, `apply`,
listed in `ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from cluster.cluster import Cluster
from cluster.config import NODE_FIELDS, ConfigError, FieldReader, check_known, require_object
from cluster.errors import MlError, not_found
from cluster.requests import AdaptiveAllocations, StartRequest, UpdateRequest
from cluster.traffic import PROFILE_FIELDS, profile_from_json

from .inprocess import InProcessClient
from .schema import (
    DEPLOYMENT_FIELDS, GROUP_FIELDS, NodeGroup, TimelineEvent, deployment_reference, parse_adaptive, parse_node_group,
    parse_profile, parse_start,
)

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")


@dataclass
class ParseContext:
    """What later entries may refer to; start_deployment actions add their ids."""

    model_ids: set[str]
    deployment_ids: set[str]


@dataclass
class ActionContext:
    """What an action acts on at run time."""

    cluster: Cluster
    client: InProcessClient


class Action(Protocol):
    def apply(self, context: ActionContext) -> dict[str, Any]:
        """Do it now; details for the log, or MlError when the cluster refuses."""
        ...


def parse_event(data: Any, index: int, where: str, context: ParseContext) -> TimelineEvent:
    fields = require_object(data, where)
    for name in ("at", "do"):
        if name not in fields:
            raise ConfigError(f"{where}: [{name}] is required")
    read = FieldReader(fields, where)
    at = read.seconds("at")
    if not at >= 0:
        raise ConfigError(f"{where}.at: must not be negative, got [{fields['at']}]")
    do = read.text("do")
    if do not in ACTIONS:
        raise ConfigError(f"{where}.do: must be one of {list(ACTIONS)}, got [{do}]")
    kind = ACTIONS[do]
    body = {k: v for k, v in fields.items() if k not in ("at", "do")}
    check_known(body, kind.FIELDS, where)
    return TimelineEvent(index, at, do, kind.parse(body, where, context))


# -- nodes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSelector:
    """Nodes by `nodes: [names]`, or by `zone`, or the first `count` (in join order,
    within the zone if given); nodes already leaving are not picked."""

    names: tuple[str, ...] = ()
    zone: str | None = None
    count: int | None = None

    FIELDS = ("nodes", "zone", "count")

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str) -> "NodeSelector":
        read = FieldReader(fields, where)
        if "nodes" in fields:
            if "zone" in fields or "count" in fields:
                raise ConfigError(f"{where}.nodes: give either [nodes] or [zone] and/or [count]")
            names = read.strings("nodes")
            if not names:
                raise ConfigError(f"{where}.nodes: must name at least one node")
            return cls(names=names)
        if "zone" not in fields and "count" not in fields:
            raise ConfigError(f"{where}: one of [nodes], [zone] or [count] is required")
        count = read.integer("count") if "count" in fields else None
        if count is not None and count < 1:
            raise ConfigError(f"{where}.count: must be a positive integer")
        return cls(zone=read.text("zone"), count=count)

    def select(self, cluster: Cluster) -> list[str]:
        state = cluster.state
        if self.names:
            return [cluster_node_id(cluster, name) for name in self.names]
        found = [
            node_id for node_id, node in state.nodes.items()
            if node_id not in state.leaving and (self.zone is None or node.spec.zone == self.zone)
        ]
        if not found:
            raise not_found(f"No node in zone [{self.zone}]" if self.zone is not None else "No node left to pick")
        return found[: self.count] if self.count is not None else found


def cluster_node_id(cluster: Cluster, name: str) -> str:
    try:
        return cluster.node_id(name)
    except KeyError:
        raise not_found(f"No known node named [{name}]") from None


@dataclass(frozen=True)
class _EachSelectedNode:
    """An action on each node the selector names, one after another."""

    selector: NodeSelector
    FIELDS = NodeSelector.FIELDS

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "_EachSelectedNode":
        return cls(NodeSelector.parse(fields, where))

    def apply(self, context: ActionContext) -> dict[str, Any]:
        cluster = context.cluster
        ids = self.selector.select(cluster)
        names = [cluster.state.nodes[n].name for n in ids]
        for node_id in ids:
            self.act(cluster, node_id)
        return {"nodes": names}

    def act(self, cluster: Cluster, node_id: str) -> None:
        raise NotImplementedError


class CrashNodes(_EachSelectedNode):
    """The nodes vanish at once (their routes with them)."""

    DO = "crash_nodes"

    def act(self, cluster: Cluster, node_id: str) -> None:
        cluster.crash_node(node_id)


class RemoveNodes(_EachSelectedNode):
    """Graceful shutdown: routes drain and stop, replacements are planned."""

    DO = "remove_nodes"

    def act(self, cluster: Cluster, node_id: str) -> None:
        cluster.remove_node(node_id)


@dataclass(frozen=True)
class AddNodes:
    """Nodes of the cluster file's shape join; `count` and `zones` as in `cluster.nodes`."""

    group: NodeGroup
    DO = "add_nodes"
    FIELDS = (*NODE_FIELDS, *GROUP_FIELDS)

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "AddNodes":
        return cls(parse_node_group(dict(fields), where))

    def apply(self, context: ActionContext) -> dict[str, Any]:
        cluster = context.cluster
        specs = self.group.specs(node.name for node in cluster.state.nodes.values())
        for spec in specs:
            cluster.membership.join(spec)
        return {"nodes": [spec.name for spec in specs]}


# -- deployments ------------------------------------------------------------------------


@dataclass(frozen=True)
class StartDeployment:
    """Start a deployment (the start API's fields); returns at once, loads take their time."""

    request: StartRequest
    DO = "start_deployment"
    FIELDS = DEPLOYMENT_FIELDS

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "StartDeployment":
        request = parse_start(fields, where, context.model_ids)
        context.deployment_ids.add(request.deployment_id or request.model_id)
        return cls(request)

    def apply(self, context: ActionContext) -> dict[str, Any]:
        assignment = context.cluster.deployments.start(self.request)
        return {"deployment_id": assignment.deployment_id}


@dataclass(frozen=True)
class StopDeployment:
    deployment_id: str
    force: bool = False
    DO = "stop_deployment"
    FIELDS = ("deployment_id", "force")

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "StopDeployment":
        deployment_id = deployment_reference(fields, where, context.deployment_ids)
        force = FieldReader(fields, where).boolean("force") if "force" in fields else False
        return cls(deployment_id, force)

    def apply(self, context: ActionContext) -> dict[str, Any]:
        return {"deployment_ids": context.cluster.deployments.stop(self.deployment_id, force=self.force, allow_no_match=False)}


@dataclass(frozen=True)
class UpdateDeployment:
    """The update API: `number_of_allocations` and/or `adaptive_allocations`."""

    deployment_id: str
    number_of_allocations: int | None = None
    adaptive_allocations: AdaptiveAllocations | None = None
    adaptive_fields: frozenset[str] = field(default_factory=frozenset)
    DO = "update_deployment"
    FIELDS = ("deployment_id", "number_of_allocations", "adaptive_allocations")

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "UpdateDeployment":
        deployment_id = deployment_reference(fields, where, context.deployment_ids)
        read = FieldReader(fields, where)
        n = read.integer("number_of_allocations") if "number_of_allocations" in fields else None
        adaptive, given = None, frozenset()
        if "adaptive_allocations" in fields:
            adaptive = parse_adaptive(fields["adaptive_allocations"], f"{where}.adaptive_allocations")
            given = frozenset(fields["adaptive_allocations"])
        action = cls(deployment_id, n, adaptive, given)
        try:
            action.request().validate()
        except MlError as exc:
            raise ConfigError(f"{where}: {exc.reason}") from None
        return action

    def request(self) -> UpdateRequest:
        return UpdateRequest(self.deployment_id, self.number_of_allocations, self.adaptive_allocations, self.adaptive_fields)

    def apply(self, context: ActionContext) -> dict[str, Any]:
        assignment = context.cluster.deployments.update(self.request())
        return {"number_of_allocations": assignment.params.number_of_allocations}


# -- traffic and anything else ----------------------------------------------------------


@dataclass(frozen=True)
class SetTraffic:
    """Replace a deployment's traffic from now on (a `POST /_sim/traffic` body; times from
    now). `POST /_sim/traffic` through `request` adds on top instead."""

    deployment_id: str
    profile: Mapping[str, Any]
    DO = "set_traffic"
    FIELDS = ("deployment_id", "kind", *sorted({f for fs in PROFILE_FIELDS.values() for f in fs}))

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "SetTraffic":
        deployment_id = deployment_reference(fields, where, context.deployment_ids)
        return cls(deployment_id, parse_profile({k: v for k, v in fields.items() if k != "deployment_id"}, where))

    def apply(self, context: ActionContext) -> dict[str, Any]:
        cluster = context.cluster
        if self.deployment_id not in cluster.state.assignments:
            raise not_found(f"Could not find trained model deployment [{self.deployment_id}]")
        cluster.remove_traffic(self.deployment_id)
        cluster.add_traffic(self.deployment_id, profile_from_json(dict(self.profile), cluster.now))
        return {"deployment_id": self.deployment_id}


@dataclass(frozen=True)
class Request:
    """Any REST call through the app (`body`: an object, or text such as NDJSON)."""

    method: str
    path: str
    body: Any = None
    DO = "request"
    FIELDS = ("method", "path", "body")

    @classmethod
    def parse(cls, fields: Mapping[str, Any], where: str, context: ParseContext) -> "Request":
        read = FieldReader(fields, where)
        if "path" not in fields:
            raise ConfigError(f"{where}: [path] is required")
        method = (read.text("method") or "GET").upper()
        if method not in HTTP_METHODS:
            raise ConfigError(f"{where}.method: must be one of {list(HTTP_METHODS)}, got [{fields['method']}]")
        path = read.text("path") or ""
        if not path.startswith("/"):
            raise ConfigError(f"{where}.path: must start with /, got [{path}]")
        return cls(method, path, fields.get("body"))

    def apply(self, context: ActionContext) -> dict[str, Any]:
        status, body = context.client.request(self.method, self.path, self.body)
        if status >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            reason = error.get("reason") if isinstance(error, dict) else str(error or body)
            error_type = error.get("type", "http_error") if isinstance(error, dict) else "http_error"
            raise MlError(status, error_type, reason)
        return {"status": status}


ACTIONS: dict[str, Any] = {
    kind.DO: kind
    for kind in (CrashNodes, RemoveNodes, AddNodes, StartDeployment, StopDeployment, UpdateDeployment, SetTraffic, Request)
}
