"""Cluster state: nodes, models, aliases, assignments, pipelines — and what derives from them.

Free memory and cores are never stored: they are computed from the routing tables, so the
planner's input and what `/_sim/nodes` shows cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from nodes.node import MlNode
from nodes.resources import NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES, NodeSpec, allocated_cores, ml_memory_limit
from scheduler import PlanNode

from .assignment import Assignment
from .models import TrainedModel
from .settings import ClusterSettings


@dataclass(frozen=True, slots=True)
class NodeUsage:
    """A node's capacity and what its memory-consuming routes take of it."""

    ml_memory_limit: int
    deployment_memory: int
    memory_used: int
    cores: int
    cores_used: int

    @property
    def free_memory(self) -> int:
        return self.deployment_memory - self.memory_used

    @property
    def free_cores(self) -> int:
        return self.cores - self.cores_used


def no_external_memory(node_id: str) -> int:
    return 0


@dataclass
class ClusterState:
    settings: ClusterSettings
    nodes: dict[str, MlNode] = field(default_factory=dict)
    leaving: set[str] = field(default_factory=set)
    models: dict[str, TrainedModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Bytes other services (OpenSearch ml-commons models) hold on a node, computed by them
    #: on demand, so the pool Elasticsearch deployments place into shrinks by exactly that.
    external_memory: Callable[[str], int] = no_external_memory
    #: Per node: (spec, settings, ML memory limit, model memory pool, cores, zone), derived
    #: from the two frozen objects it was computed from, so valid while both are the same.
    _capacity: dict[str, tuple[NodeSpec, ClusterSettings, int, int, int, str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: The planner's view of each node last handed out (rebuilt when its numbers change).
    _plan_nodes: dict[str, PlanNode] = field(default_factory=dict, repr=False, compare=False)

    # -- models ---------------------------------------------------------------------

    def resolve_model_id(self, model_id_or_alias: str) -> str | None:
        """The model an id or alias names (None when neither exists)."""
        if model_id_or_alias in self.models:
            return model_id_or_alias
        return self.aliases.get(model_id_or_alias)

    def aliases_of(self, model_id: str) -> list[str]:
        return sorted(alias for alias, target in self.aliases.items() if target == model_id)

    def deployments_of(self, model_id: str) -> list[Assignment]:
        return [a for _, a in sorted(self.assignments.items()) if a.model_id == model_id]

    def pipelines_referencing(self, name: str) -> list[str]:
        """Ids of ingest pipelines whose inference processors name `name` (id or alias)."""
        return sorted(pid for pid, body in self.pipelines.items() if name in inference_model_ids(body))

    # -- nodes ----------------------------------------------------------------------

    def assignable_node_ids(self) -> list[str]:
        return sorted(node_id for node_id in self.nodes if node_id not in self.leaving)

    def _capacity_of(self, node_id: str) -> tuple[NodeSpec, ClusterSettings, int, int, int, str]:
        """What the node's spec and the settings make of it (ML memory limit, model memory
        pool, cores, zone): computed once per node, not once per node per plan."""
        spec, settings = self.nodes[node_id].spec, self.settings
        known = self._capacity.get(node_id)
        if known is not None and known[0] is spec and known[1] is settings:
            return known
        limit = ml_memory_limit(
            spec.machine_memory,
            spec.effective_jvm_size,
            settings.max_machine_memory_percent,
            settings.use_auto_machine_memory_percent,
        )
        pool = max(limit - spec.other_ml_memory_bytes - NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES, 0)
        cores = allocated_cores(spec.allocated_processors, settings.allocated_processors_scale)
        known = self._capacity[node_id] = (spec, settings, limit, pool, cores, self._zone(spec))
        return known

    def zone_of(self, node_id: str) -> str:
        """The awareness-attribute values of a node; a missing attribute counts as ""."""
        return self._capacity_of(node_id)[5]

    def _zone(self, spec: NodeSpec) -> str:
        values = []
        for attribute in self.settings.awareness_attributes:
            value = spec.zone if attribute == "zone" and spec.zone else spec.attributes.get(attribute, "")
            values.append(value)
        return "/".join(values) if any(values) else ""

    def ml_memory_limit(self, node_id: str) -> int:
        return self._capacity_of(node_id)[2]

    def model_memory_pool(self, node_id: str) -> int:
        """Memory models may use on the node, whichever service loads them: its ML limit less
        other ML jobs and the native code overhead."""
        return self._capacity_of(node_id)[3]

    def deployment_memory(self, node_id: str) -> int:
        """Memory Elasticsearch deployments may use on the node (what the planner places
        into): the model memory pool less what other services hold there."""
        return max(self.model_memory_pool(node_id) - self.external_memory(node_id), 0)

    def model_memory_used(self, node_id: str) -> int:
        """Memory in use in the node's model memory pool, by either service: Elasticsearch
        routes and what other services hold there."""
        return self.usage(node_id).memory_used + self.external_memory(node_id)

    def cores(self, node_id: str) -> int:
        return self._capacity_of(node_id)[4]

    def usage(self, node_id: str) -> NodeUsage:
        memory_used = cores_used = 0
        for assignment, route in self.routes_on(node_id):
            if route.consumes_memory:
                memory_used += assignment.params.memory_bytes(route.target_allocations)
                if assignment.params.priority != "low":
                    cores_used += route.target_allocations * assignment.params.threads_per_allocation
        return NodeUsage(
            self.ml_memory_limit(node_id), self.deployment_memory(node_id), memory_used, self.cores(node_id), cores_used
        )

    def routes_on(self, node_id: str) -> Iterator[tuple[Assignment, Any]]:
        """The node's routes in deployment id order (only those are sorted: a node carries
        a few of many deployments, and this is asked per node)."""
        found = [(d, a, route) for d, a in self.assignments.items() if (route := a.routes.get(node_id)) is not None]
        found.sort(key=_first)
        for _, assignment, route in found:
            yield assignment, route

    def plan_nodes(self) -> list[PlanNode]:
        """The planner's input: capacity only; current placements come with the deployments."""
        nodes = []
        for node_id in self.assignable_node_ids():
            _, _, _, pool, cores, zone = self._capacity_of(node_id)
            memory = max(pool - self.external_memory(node_id), 0)
            known = self._plan_nodes.get(node_id)
            if known is None or known.memory_bytes != memory or known.cores != cores or known.zone != zone:
                known = self._plan_nodes[node_id] = PlanNode(node_id, memory, cores, zone)
            nodes.append(known)  # frozen plain data: sharing it between plans is safe
        return nodes

    def scaling_possible(self) -> bool:
        """Whether autoscaling could add capacity (then unmet starts wait instead of failing)."""
        settings = self.settings
        if settings.max_lazy_ml_nodes > len(self.nodes):
            return True
        if settings.max_ml_node_size > 0 and self.nodes:
            smallest = min(node.spec.machine_memory for node in self.nodes.values())
            return smallest < settings.max_ml_node_size
        return False


def _first(entry: tuple[str, Any, Any]) -> str:
    return entry[0]


def inference_processors(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The configs of a pipeline's `inference` processors, nested `on_failure` ones included."""
    found: list[dict[str, Any]] = []

    def visit(processors: Any) -> None:
        for processor in processors or []:
            if not isinstance(processor, dict):
                continue
            for kind, config in processor.items():
                if not isinstance(config, dict):
                    continue
                if kind == "inference":
                    found.append(config)
                visit(config.get("on_failure"))
                if kind == "foreach":
                    visit([config.get("processor")])

    visit(pipeline.get("processors"))
    visit(pipeline.get("on_failure"))
    return found


def inference_model_ids(pipeline: dict[str, Any]) -> set[str]:
    """Model ids named by `inference` processors, including nested `on_failure` ones."""
    return {c["model_id"] for c in inference_processors(pipeline) if isinstance(c.get("model_id"), str)}
