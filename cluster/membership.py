"""Nodes joining, leaving gracefully and crashing, each followed by a rebalance.

Other services on the same nodes (OpenSearch ml-commons) hear of each change through the
observers, after Elasticsearch's own reaction.
"""

from __future__ import annotations

import base64
from typing import Protocol

import numpy as np
import simpy

from nodes.node import MlNode, RouteListener, RouteServing
from nodes.resources import NodeSpec

from .errors import not_found, status_error
from .events import EventLog
from .master import Master
from .state import ClusterState


def random_node_id(rng: np.random.Generator) -> str:
    """A 22-character url-safe id like Elasticsearch's, drawn from the cluster's generator."""
    return base64.urlsafe_b64encode(rng.bytes(16)).decode("ascii")[:22]


class NodeObserver(Protocol):
    """Hears about membership changes (implemented by services sharing the nodes)."""

    def node_joined(self, node_id: str) -> None: ...

    def node_leaving(self, node_id: str) -> None: ...

    def node_crashed(self, node_id: str) -> None: ...


class Membership:
    def __init__(
        self,
        env: simpy.Environment,
        state: ClusterState,
        master: Master,
        log: EventLog,
        rng: np.random.Generator,
        serving: RouteServing | None = None,
        listener: RouteListener | None = None,
    ) -> None:
        self.env = env
        self.state = state
        self.master = master
        self.log = log
        self.rng = rng
        self.serving = serving
        #: Who hears the nodes' route reports (the master unless a dispatcher is given).
        self.listener: RouteListener = listener or master
        self.observers: list[NodeObserver] = []

    def join(self, spec: NodeSpec) -> str:
        node_id = spec.node_id or random_node_id(self.rng)
        if node_id in self.state.nodes:
            raise status_error(400, f"node [{node_id}] already exists")
        if any(node.spec.name == spec.name for node in self.state.nodes.values()):
            raise status_error(400, f"a node named [{spec.name}] already exists")
        self.state.nodes[node_id] = MlNode(
            self.env, node_id, spec, self.state.settings.timing, self.listener, self.serving
        )
        self.log.append(
            "node_joined", "node joined", node_id=node_id, name=spec.name, zone=self.state.zone_of(node_id),
            machine_memory=spec.machine_memory, allocated_processors=spec.allocated_processors,
        )
        self.master.rebalance("node joined")
        for observer in self.observers:
            observer.node_joined(node_id)
        return node_id

    def leave(self, node_id: str) -> None:
        """Graceful shutdown: routes drain and stop, replacements are planned at once."""
        self._require(node_id)
        if node_id in self.state.leaving:
            return
        self.state.leaving.add(node_id)
        self.log.append("node_leaving", "node shutdown", node_id=node_id)
        for observer in self.observers:
            observer.node_leaving(node_id)
        self.master.stop_routes_on(node_id, "node shutdown")
        self.master.rebalance("node shutdown")
        self.master.leave_if_drained(node_id)

    def crash(self, node_id: str) -> None:
        """The node vanishes; its routes disappear without stopping."""
        node = self._require(node_id)
        node.crash()
        del self.state.nodes[node_id]
        self.state.leaving.discard(node_id)
        self.log.append("node_crashed", "node crashed", node_id=node_id)
        self.master.forget_node(node_id, "node crashed")
        self.master.rebalance("node crashed")
        for observer in self.observers:
            observer.node_crashed(node_id)

    def _require(self, node_id: str) -> MlNode:
        node = self.state.nodes.get(node_id)
        if node is None:
            raise not_found(f"No known node with id [{node_id}]")
        return node
