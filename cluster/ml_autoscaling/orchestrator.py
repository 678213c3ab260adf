"""A simulated hosting orchestrator for the ML tier: polls the `ml` decider on the simulated
clock and resizes the tier the way a hosted service does.

Each poll while nothing is in flight: ask `_autoscaling/capacity` for the policy, turn the
required capacity into a tier shape (`tier_shape.shape_for`), and if it differs from the
current nodes, provision the new nodes (they join after `provision_seconds`), then shut the
nodes no longer wanted down gracefully once the new nodes' routes have loaded (their routes drain and move; the instance is gone
`remove_seconds` after it drained). Every step goes into the event log; node-hours and cost
are kept per instance from request to removal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import simpy

from nodes.resources import GiB, NodeSpec

from ..events import EventLog
from ..state import ClusterState
from .service import AutoscalingService
from .tier_shape import NO_TIER, AutoscalingConfig, TierShape, shape_for

#: Longest wait for routes on new nodes to load before the replaced nodes shut down.
SETTLE_LIMIT_SECONDS = 600.0
#: Roles of the simulated ML nodes, which a policy must name exactly to own them.
POLICY_ROLES = ["ml", "remote_cluster_client"]


@dataclass(slots=True)
class Instance:
    """One node the orchestrator pays for, from its request to its removal."""

    name: str
    size: int
    zone: str
    requested_at: float
    node_id: str | None = None
    removed_at: float | None = None

    def hours(self, now: float) -> float:
        end = self.removed_at if self.removed_at is not None else now
        return max(end - self.requested_at, 0.0) / 3600.0


class Orchestrator:
    def __init__(
        self,
        env: simpy.Environment,
        state: ClusterState,
        service: AutoscalingService,
        log: EventLog,
        config: AutoscalingConfig,
        join: Callable[[NodeSpec], str],
        leave: Callable[[str], None],
    ) -> None:
        self.env = env
        self.state = state
        self.service = service
        self.log = log
        self.config = config
        self._join = join
        self._leave = leave
        self.instances: list[Instance] = []
        self.scale_ups = 0
        self.scale_downs = 0
        self._in_flight = 0
        self._serial = 0
        service.policies.put(config.policy, POLICY_ROLES, {"ml": {"down_scale_delay": config.down_scale_delay}})
        for node_id, node in sorted(state.nodes.items()):
            self.instances.append(
                Instance(node.spec.name, node.spec.machine_memory, node.spec.zone, env.now, node_id)
            )
        env.process(self._run())

    # -- the loop -----------------------------------------------------------------------

    def _run(self):
        while True:
            interval = self.config.poll_interval
            yield self.env.timeout((math.floor(self.env.now / interval) + 1) * interval - self.env.now)
            if self._in_flight == 0:
                self.poll()

    def poll(self) -> TierShape | None:
        """One decision: the shape asked for, or None when nothing changes."""
        policy = self.service.policies.policies.get(self.config.policy)
        if policy is None:
            return None
        _, _, result = self.service.decide(policy)
        if result.required is None:
            return None
        target = shape_for(result.required, self.config)
        live = self._live()
        if self._matches(live, target):
            return None
        current = self._shape(live)
        growing = target.size * target.nodes_per_zone > current.size * current.nodes_per_zone or (
            target.size > current.size
        )
        kind = "autoscaling_scale_up" if growing else "autoscaling_scale_down"
        if growing:
            self.scale_ups += 1
        else:
            self.scale_downs += 1
        self.log.append(
            kind, "autoscaling", policy=policy.name, current=current.to_dict(), target=target.to_dict(),
            required=result.required.to_dict(), reason=result.reason_summary,
        )
        self._resize(live, target)
        return target

    # -- resizing -------------------------------------------------------------------------

    def _resize(self, live: list[Instance], target: TierShape) -> None:
        keep: list[Instance] = []
        add: list[tuple[str, int]] = []
        for zone in self.config.zones:
            same = [i for i in live if i.zone == zone and i.size == target.size]
            keep += same[: target.nodes_per_zone]
            add += [(zone, target.size)] * max(target.nodes_per_zone - len(same), 0)
        retire = [i for i in live if i not in keep]
        self._in_flight += 1
        self.env.process(self._replace(add, retire))

    def _replace(self, add: list[tuple[str, int]], retire: list[Instance]):
        """New nodes first (so deployments have somewhere to go), then the old ones leave."""
        provisioning = [self._request(zone, size) for zone, size in add]
        if provisioning:
            yield self.env.timeout(self.config.provision_seconds)
            for instance in provisioning:
                spec = NodeSpec(
                    name=instance.name, machine_memory=instance.size,
                    allocated_processors=self.config.processors(instance.size), zone=instance.zone,
                )
                instance.node_id = self._join(spec)
                self.log.append(
                    "autoscaling_node_added", "autoscaling", name=instance.name, node_id=instance.node_id,
                    node_size=instance.size, zone=instance.zone,
                )
            # like a hosted plan change: old nodes go once the new ones have taken their load
            waited = 0.0
            while self._loading() and waited < SETTLE_LIMIT_SECONDS:
                yield self.env.timeout(1.0)
                waited += 1.0
        since = self.log.next_seq
        for instance in retire:
            if instance.node_id in self.state.nodes:
                self.log.append("autoscaling_node_removing", "autoscaling", name=instance.name, node_id=instance.node_id)
                self._leave(instance.node_id)
        for instance in retire:
            while instance.node_id in self.state.nodes:
                yield self.env.timeout(1.0)
            left = max(
                (e.time for e in self.log.since(since) if e.kind == "node_left" and e.fields["node_id"] == instance.node_id),
                default=self.env.now,
            )
            # the instance goes `remove_seconds` after its node drained and left the cluster
            yield self.env.timeout(max(left + self.config.remove_seconds - self.env.now, 0.0))
            instance.removed_at = self.env.now
            self.log.append("autoscaling_node_removed", "autoscaling", name=instance.name, node_id=instance.node_id)
        self._in_flight -= 1

    def _request(self, zone: str, size: int) -> Instance:
        self._serial += 1
        instance = Instance(f"instance-{self._serial:010d}", size, zone, self.env.now)
        self.instances.append(instance)
        self.log.append(
            "autoscaling_node_provisioning", "autoscaling", name=instance.name, node_size=size, zone=zone,
            ready_in=self.config.provision_seconds,
        )
        return instance

    # -- the tier as it is ----------------------------------------------------------------

    def _loading(self) -> bool:
        """Whether a route is still loading or resizing."""
        return any(
            r.routing_state == "starting" or (r.routing_state == "started" and r.current_allocations != r.target_allocations)
            for a in self.state.assignments.values()
            for r in a.routes.values()
        )

    def _live(self) -> list[Instance]:
        """Instances whose node is in the cluster and not shutting down."""
        return [
            i for i in self.instances
            if i.removed_at is None and i.node_id in self.state.nodes and i.node_id not in self.state.leaving
        ]

    def _matches(self, live: list[Instance], target: TierShape) -> bool:
        return all(
            sorted(i.size for i in live if i.zone == zone) == [target.size] * target.nodes_per_zone
            for zone in self.config.zones
        ) and all(i.zone in self.config.zones for i in live)

    def _shape(self, live: list[Instance]) -> TierShape:
        if not live:
            return NO_TIER
        per_zone = max(sum(1 for i in live if i.zone == zone) for zone in self.config.zones)
        return TierShape(max(i.size for i in live), per_zone)

    # -- accounting -----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Scale events, node-hours, GB-hours and cost so far."""
        now = self.env.now
        node_hours = sum(i.hours(now) for i in self.instances)
        gb_hours = sum(i.hours(now) * i.size / GiB for i in self.instances)
        return {
            "policy": self.config.policy,
            "scale_ups": self.scale_ups,
            "scale_downs": self.scale_downs,
            "node_hours": round(node_hours, 6),
            "gb_hours": round(gb_hours, 6),
            "cost": round(gb_hours * self.config.cost_per_gb_hour, 6),
            "nodes": [
                {
                    "name": i.name, "node_size": i.size, "zone": i.zone, "requested_at": i.requested_at,
                    "removed_at": i.removed_at,
                }
                for i in self.instances
            ],
        }
