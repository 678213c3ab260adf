"""`GET /_autoscaling/capacity` from cluster state: each policy's nodes, current capacity
and the `ml` decider's answer, in Elasticsearch's response shape.

The decider keeps one `ScaleTimer` for the cluster (the down-scale delay runs across calls),
as Elasticsearch's decider service does on the elected master.
"""

from __future__ import annotations

from typing import Any

from ..clock import SimClock
from ..node_info import NODE_ROLES
from ..state import ClusterState
from .decider import (
    Capacity,
    DeciderResult,
    DeciderSettings,
    DeploymentView,
    NodeView,
    Resources,
    ScaleTimer,
    TierView,
    ZERO_CAPACITY,
    decide,
)
from .policies import ML_DECIDER, Policy, PolicyStore


class AutoscalingService:
    def __init__(self, state: ClusterState, clock: SimClock) -> None:
        self.state = state
        self.clock = clock
        self.policies = PolicyStore()
        self.timer = ScaleTimer()

    # -- views ------------------------------------------------------------------------

    def tier_view(self) -> TierView:
        state = self.state
        scale = state.settings.allocated_processors_scale
        nodes = tuple(
            NodeView(
                node_id,
                node.spec.name,
                node.spec.machine_memory,
                node.spec.effective_jvm_size,
                state.ml_memory_limit(node_id),
                node.spec.allocated_processors / scale,
                node.spec.other_ml_memory_bytes,
            )
            for node_id, node in sorted(state.nodes.items())
        )
        node_ids = list(state.nodes)
        deployments = tuple(
            DeploymentView(
                deployment_id,
                a.state,
                len(a.routes),
                a.params.number_of_allocations,
                a.params.threads_per_allocation,
                a.params.memory_bytes(),
                tuple(n for n, r in sorted(a.routes.items()) if r.consumes_memory),
                a.is_satisfied(node_ids),
                a.stopping or a.allocation_status().state == "fully_allocated",
            )
            for deployment_id, a in sorted(state.assignments.items())
        )
        zones = len({state.zone_of(n) for n in state.nodes}) or 1
        return TierView(nodes, deployments, zones)

    def decider_settings(self) -> DeciderSettings:
        s = self.state.settings
        return DeciderSettings(s.max_machine_memory_percent, s.use_auto_machine_memory_percent, s.max_ml_node_size)

    def policy_nodes(self, policy: Policy) -> list[str]:
        """Nodes whose roles are exactly the policy's (simulated nodes are ml + remote_cluster_client)."""
        if set(policy.roles) != set(NODE_ROLES):
            return []
        return sorted(self.state.nodes, key=lambda n: (self.state.nodes[n].spec.name, n))

    def current_capacity(self, node_ids: list[str]) -> Capacity:
        """Whole-node memory and processors of the policy's nodes (storage 0: no data role)."""
        if not node_ids:
            return ZERO_CAPACITY
        specs = [self.state.nodes[n].spec for n in node_ids]
        memory = [s.machine_memory for s in specs]
        processors = [float(s.allocated_processors) for s in specs]
        return Capacity(Resources(0, sum(memory), sum(processors)), Resources(0, max(memory), max(processors)))

    # -- answers ----------------------------------------------------------------------

    def decide(self, policy: Policy) -> tuple[Capacity, list[str], DeciderResult]:
        node_ids = self.policy_nodes(policy)
        current = self.current_capacity(node_ids)
        result = decide(
            self.tier_view(), policy.ml_config(), self.decider_settings(), self.timer, current, self.clock.millis()
        )
        return current, node_ids, result

    def capacity(self) -> dict[str, Any]:
        """The `_autoscaling/capacity` body for every policy."""
        policies: dict[str, Any] = {}
        for name, policy in sorted(self.policies.policies.items()):
            current, node_ids, result = self.decide(policy)
            body: dict[str, Any] = {}
            if result.required is not None:
                body["required_capacity"] = result.required.to_dict()
            body["current_capacity"] = current.to_dict()
            body["current_nodes"] = [{"name": self.state.nodes[n].spec.name} for n in node_ids]
            decider: dict[str, Any] = {}
            if result.required is not None:
                decider["required_capacity"] = result.required.to_dict()
            decider["reason_summary"] = result.reason_summary
            decider["reason_details"] = result.reason_details
            body["deciders"] = {ML_DECIDER: decider}
            policies[name] = body
        return {"policies": policies}
