"""ml-commons' auto-redeploy on node join (`MLModelAutoReDeployer`).

When a node joins, every model that is DEPLOYING, PARTIALLY_DEPLOYED or DEPLOYED and has
been auto-redeployed fewer than `model_auto_redeploy_lifetime_retry_times` times is queued,
oldest `last_deployed_time` first. One model is redeployed at a time: its retry count goes
up, it is deployed again (to all eligible nodes, or to its planning nodes when it has a
custom plan that names a joined node), and when a deploy finishes with at least
`model_auto_redeploy_success_ratio` of its nodes the count resets and the next model goes.
A model whose plan names no joined node, or a deploy below the ratio, stops the queue
until the next join, as in ml-commons.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .documents import MODEL_INDEX
from .errors import MlError
from .model_states import ON_NODES_STATES

if TYPE_CHECKING:
    from .deployer import DeployRun
    from .service import MlCommons


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A queued redeploy: the model as the join-time search saw it, and the joined nodes."""

    model_id: str
    added_nodes: tuple[str, ...]
    planning_worker_nodes: tuple[str, ...]
    retry_times: int
    deploy_to_all_nodes: bool


class AutoRedeployer:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        self.queue: deque[Arrangement] = deque()

    def node_joined(self, node_id: str) -> None:
        settings = self.ml.settings
        if not settings.model_auto_redeploy_enable:
            return
        hits = self._running_models()
        if not hits:
            return
        for model_id, doc in hits:
            retry = doc.get("auto_redeploy_retry_times") or 0
            if retry >= settings.model_auto_redeploy_lifetime_retry_times:
                continue
            arrangement = Arrangement(
                model_id, (node_id,), tuple(doc.get("planning_worker_nodes") or ()), retry,
                bool(doc.get("deploy_to_all_nodes")),
            )
            if arrangement not in self.queue:
                self.queue.append(arrangement)
        self.redeploy_next()

    def _running_models(self) -> list[tuple[str, dict]]:
        """Models to redeploy, by `last_deployed_time` ascending (missing ones last)."""
        docs = [
            (model_id, stored.source)
            for model_id, stored in self.ml.store[MODEL_INDEX].docs.items()
            if stored.source.get("model_state") in ON_NODES_STATES
        ]
        return sorted(docs, key=lambda d: (d[1].get("last_deployed_time") is None, d[1].get("last_deployed_time") or 0))

    def redeploy_next(self) -> None:
        if not self.ml.settings.model_auto_redeploy_enable or not self.queue:
            return
        arrangement = self.queue.popleft()
        node_ids = self._target_nodes(arrangement)
        if node_ids is None:
            return
        deployer = self.ml.deployer
        deployer.update_model(
            arrangement.model_id, {"auto_redeploy_retry_times": arrangement.retry_times + 1}, "auto redeploy"
        )
        self.ml.log.append("os_auto_redeploy", "node joined", model_id=arrangement.model_id, nodes=node_ids)
        try:
            deployer.deploy(arrangement.model_id, node_ids)
        except MlError:
            self.redeploy_next()

    def _target_nodes(self, arrangement: Arrangement) -> list[str] | None:
        """[] for all eligible nodes; the planning nodes when the custom plan names a joined
        node; None when the model is not to be redeployed."""
        if arrangement.deploy_to_all_nodes or not self.ml.settings.allow_custom_deployment_plan:
            return []
        planning = list(arrangement.planning_worker_nodes)
        if planning and any(n in planning for n in arrangement.added_nodes):
            return planning
        return None

    def ratio_reached(self, run: DeployRun) -> bool:
        """Whether a finished deploy met the success ratio (then the retry count resets and
        the next queued model is redeployed)."""
        if not self.ml.settings.model_auto_redeploy_enable:
            return False
        expected = len(run.worker_nodes)
        return (expected - len(run.errors)) / expected >= self.ml.settings.model_auto_redeploy_success_ratio
