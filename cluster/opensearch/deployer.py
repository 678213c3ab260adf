"""ml-commons deploy and undeploy on the simulated ML nodes.

A deploy creates a DEPLOY_MODEL task and marks the model DEPLOYING with its planning
nodes; each target node then runs ml-commons' per-node checks (already deployed, the
per-node model limit, a duplicate load, the memory and native memory circuit breakers
(`breakers.py`), the running task limit) and loads local models in simulated time on its
`MlNode`, next to Elasticsearch deployments and from the same memory. When every node has
reported, the task and the model get their final states (`TransportForwardAction`'s
DEPLOY_MODEL_DONE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .documents import MODEL_INDEX
from cluster.node_info import NODE_ROLES

from . import breakers
from .errors import illegal_argument, os_status, require_local_model, require_remote_inference
from .local_models import (
    DEPLOYED, DEPLOYING, DL_FUNCTIONS, LocalModel, LocalModels, content_bytes, memory_estimate, model_of, route_key,
)
from .dispatcher import TaskDispatcher
from .redeploy import AutoRedeployer
from .sync_up import SyncUpCron

if TYPE_CHECKING:
    from .service import MlCommons

#: Functions ml-commons places by the remote-model roles (`DiscoveryNodeHelper`).
NON_LOCAL_FUNCTIONS = ("REMOTE", "AGENT")
#: While `allow_custom_deployment_plan` is off, deploy and undeploy refuse node ids.
CUSTOM_PLAN_REFUSED = "Don't allow custom deployment plan"
MAX_LOCAL_MODELS = "Exceed max local model per node limit"
DUPLICATE_TASK = "Duplicate deploy model task"
MAX_RUNNING_TASKS = "exceed max running task limit"
#: What a node answers for a model whose chunks are not all stored yet (a REGISTERING model).
CHUNKS_MISSING = "Failed to deploy model"


@dataclass
class DeployRun:
    """A deploy task as its coordinating node tracks it (ml-commons' `MLTaskCache`)."""

    task_id: str
    model_id: str
    function_name: str
    worker_nodes: list[str]
    pending: set[str]
    errors: dict[str, str] = field(default_factory=dict)


class Deployer:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        self.local = LocalModels()
        #: Deploy tasks still waiting for some node, by task id.
        self.runs: dict[str, DeployRun] = {}
        self.sync_up = SyncUpCron(ml)
        self.redeployer = AutoRedeployer(ml)
        #: ml-commons' one task dispatcher: register tasks here, predict requests too.
        self.dispatcher = TaskDispatcher(ml)
        #: Called when model memory is given back (the cluster lets Elasticsearch re-plan).
        self.memory_released: Callable[[], None] = lambda: None

    # -- reading --------------------------------------------------------------------

    def model_doc(self, model_id: str) -> dict[str, Any]:
        """The stored model document, not a copy (predict reads it per request): read it,
        never change it; 404 when there is none."""
        doc = self.ml.store[MODEL_INDEX].source(model_id)
        if doc is None:
            raise os_status(404, "Failed to find model")
        return doc

    def cluster_nodes(self) -> list[str]:
        """Nodes of the cluster in join order (a node shutting down has left for ml-commons)."""
        return [n for n in self.ml.state.nodes if n not in self.ml.state.leaving]

    def eligible_nodes(self, function_name: str) -> list[str]:
        """Nodes a model of `function_name` may go to (`DiscoveryNodeHelper`), in join order:
        none named in `exclude_nodes._name`; for remote models and agents, nodes with a role
        in `task_dispatcher.eligible_node_role.remote_model`; for local models, ML nodes when
        `only_run_on_ml_node`, else nodes with a role in `...local_model`. Simulated nodes
        are dedicated ML nodes (`NODE_ROLES`): no data role, so "data" matches none."""
        settings = self.ml.settings
        excluded = {name.strip() for name in settings.exclude_node_names.split(",")}
        if function_name in NON_LOCAL_FUNCTIONS:
            eligible = bool(set(settings.remote_model_eligible_node_roles) & set(NODE_ROLES))
        elif settings.only_run_on_ml_node:
            eligible = "ml" in NODE_ROLES
        else:
            eligible = bool(set(settings.local_model_eligible_node_roles) & set(NODE_ROLES))
        if not eligible:
            return []
        return [n for n in self.cluster_nodes() if self.ml.state.nodes[n].name not in excluded]

    def memory_on(self, node_id: str) -> int:
        return self.local.memory_on(node_id)

    def deployed_on(self, node_id: str) -> list[LocalModel]:
        return [local for local in self.local.on_node(node_id) if local.state == DEPLOYED]

    # -- deploy ---------------------------------------------------------------------

    def deploy(self, model_id: str, node_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """`POST /models/{id}/_deploy`; returns the response body."""
        doc = self.model_doc(model_id)
        algorithm = doc.get("algorithm", "")
        if algorithm == "REMOTE":
            require_remote_inference(self.ml.settings)
        else:
            require_local_model(self.ml.settings)
        targets, to_all = self._targets(model_id, algorithm, list(node_ids or ()))
        task_id = self.ml.tasks.create("DEPLOY_MODEL", algorithm, model_id, targets)
        run = DeployRun(task_id, model_id, algorithm, targets, set(targets))
        self.runs[task_id] = run
        self.ml.log.append("os_deploy", "deploy model", model_id=model_id, task_id=task_id, nodes=targets)
        self.update_model(
            model_id,
            {"model_state": DEPLOYING, "planning_worker_node_count": len(targets),
             "planning_worker_nodes": targets, "deploy_to_all_nodes": to_all},
            "deploy model",
        )
        for node_id in targets:
            self._deploy_on_node(run, node_id, doc)
        if task_id in self.runs:
            self.ml.tasks.update(task_id, state="RUNNING")
        self.sync_up.ensure_running()
        return {"task_id": task_id, "task_type": "DEPLOY_MODEL",
                "status": "COMPLETED" if algorithm == "REMOTE" else "CREATED"}

    def _targets(self, model_id: str, algorithm: str, node_ids: list[str]) -> tuple[list[str], bool]:
        to_all = not node_ids
        if not to_all and not self.ml.settings.allow_custom_deployment_plan:
            raise illegal_argument(CUSTOM_PLAN_REFUSED)
        eligible = self.eligible_nodes(algorithm)
        if to_all:
            targets = eligible
        else:
            targets = [n for n in dict.fromkeys(node_ids) if n in eligible]
            left_out = [n for n in self.local.workers(model_id) if n not in node_ids]
            if left_out:
                raise illegal_argument(
                    f"Model already deployed to these nodes: [{', '.join(left_out)}], but they are not included "
                    "in target node ids. Undeploy model from these nodes if don't need them any more.Undeploy "
                    "from old nodes before try to deploy model on new nodes. Or include all old nodes on your "
                    "target nodes."
                )
        if not targets:
            raise illegal_argument("no eligible node found")
        return targets, to_all

    def _deploy_on_node(self, run: DeployRun, node_id: str, doc: dict[str, Any]) -> None:
        """One node's part (`MLModelManager.deployModel`), in ml-commons' order of checks."""
        ml, model_id, algorithm = self.ml, run.model_id, run.function_name
        ml.stats.add_request(node_id, model_id, algorithm, "deploy")
        local = self.local.get(node_id, model_id)
        if local is not None and local.state == DEPLOYED:
            local.target_worker_nodes = list(run.worker_nodes)
            local.last_access = ml.env.now
            self._node_done(run, node_id, None)
            return
        local_deployed = sum(1 for m in self.deployed_on(node_id) if m.function_name != "REMOTE")
        if algorithm != "REMOTE" and local_deployed >= ml.settings.max_model_on_node:
            self._node_done(run, node_id, MAX_LOCAL_MODELS)
            return
        if local is not None:
            self._node_done(run, node_id, DUPLICATE_TASK)
            return
        memory = memory_estimate(doc)
        breaker = breakers.tripped(ml, node_id, algorithm, memory)
        if breaker is not None:
            self._node_failed(run, node_id, breaker)
            return
        if self.local.loading_on(node_id) >= ml.settings.max_deploy_model_tasks_per_node:
            self._node_done(run, node_id, MAX_RUNNING_TASKS)
            return
        if doc.get("model_state") == "REGISTERING":
            self._node_failed(run, node_id, CHUNKS_MISSING)
            return
        ttl = (doc.get("deploy_setting") or {}).get("model_ttl_minutes", -1)
        local = LocalModel(
            model_id, algorithm, DEPLOYING, memory, run.task_id, list(run.worker_nodes),
            ttl if isinstance(ttl, (int, float)) else -1, ml.env.now,
        )
        self.local.put(node_id, local)
        if algorithm in DL_FUNCTIONS:
            ml.log.append("os_load", "deploy model", model_id=model_id, node_id=node_id, memory=memory)
            ml.state.nodes[node_id].load(route_key(model_id), content_bytes(doc))
            return
        self.local.mark_deployed(local)
        self._node_done(run, node_id, None)

    def _node_failed(self, run: DeployRun, node_id: str, error: str) -> None:
        """A failure ml-commons counts in its stats (not a limit, a bad argument or a miss)."""
        self.ml.stats.add_failure(node_id, run.model_id, run.function_name, "deploy")
        self._node_done(run, node_id, error)

    def _node_done(self, run: DeployRun, node_id: str, error: str | None) -> None:
        """A node's DEPLOY_MODEL_DONE; the last one finishes the task."""
        run.pending.discard(node_id)
        if error is not None:
            run.errors[node_id] = error
        self.ml.log.append(
            "os_deploy_node", "deploy model done", model_id=run.model_id, task_id=run.task_id, node_id=node_id,
            error=error,
        )
        if not run.pending:
            self._finish(run)

    def _finish(self, run: DeployRun) -> None:
        del self.runs[run.task_id]
        expected = len(run.worker_nodes)
        all_failed = len(run.errors) == expected
        fields: dict[str, Any] = {}
        if all_failed:
            task_state, model_state = "FAILED", "DEPLOY_FAILED"
        elif run.errors:
            task_state, model_state = "COMPLETED_WITH_ERROR", "PARTIALLY_DEPLOYED"
        else:
            task_state, model_state = "COMPLETED", DEPLOYED
        if run.errors:
            fields["error"] = json.dumps(run.errors, separators=(",", ":"))
        self.ml.tasks.update(run.task_id, state=task_state, **fields)
        redeploy_next = self.redeployer.ratio_reached(run)
        update: dict[str, Any] = {
            "model_state": model_state,
            "last_deployed_time": self.ml.clock.millis(),
            "current_worker_node_count": 0 if all_failed else expected - len(run.errors),
        }
        if redeploy_next:
            update["auto_redeploy_retry_times"] = 0
        self.update_model(run.model_id, update, "deploy model done")
        if redeploy_next:
            self.redeployer.redeploy_next()

    # -- what nodes report (nodes.node.RouteListener, for ROUTE_KEY_PREFIX keys) -----

    def route_started(self, node_id: str, key: str) -> None:
        local = self.local.get(node_id, model_of(key))
        if local is None or local.state != DEPLOYING:
            return
        self.local.mark_deployed(local)
        local.last_access = self.ml.env.now
        run = self.runs.get(local.task_id or "")
        if run is not None:  # else its task timed out: the node serves the model all the same
            self._node_done(run, node_id, None)

    def route_failed(self, node_id: str, key: str, reason: str) -> None:
        local = self.local.get(node_id, model_of(key))
        if local is None or local.state != DEPLOYING:
            return
        self.local.remove(node_id, local.model_id, release_now=True)
        run = self.runs.get(local.task_id or "")
        if run is not None:
            self._node_failed(run, node_id, reason)
        self.memory_released()

    def route_resized(self, node_id: str, key: str, allocations: int) -> None:
        """ml-commons models have no allocations to resize."""

    def route_stopped(self, node_id: str, key: str) -> None:
        if self.local.released(node_id, model_of(key)):
            self.memory_released()

    # -- undeploy -------------------------------------------------------------------

    def undeploy(
        self, model_ids: list[str] | None, node_ids: Iterable[str] | None = None, cause: str = "undeploy model"
    ) -> dict[str, Any]:
        """`POST /models/_undeploy`; returns `{node: {"stats": {model: "undeployed"|"not_found"}}}`.

        A node still loading the model answers not_found and its load goes on, as in
        ml-commons (its cache entry is re-created when the load completes).
        """
        if model_ids is None:
            raise illegal_argument("Must set specific model ids to undeploy")
        model_ids = list(dict.fromkeys(model_ids))
        if len(model_ids) == 1:
            self.model_doc(model_ids[0])
        node_ids = list(node_ids or ())
        targets = [n for n in dict.fromkeys(node_ids) if n in self.ml.state.nodes] if node_ids else self.cluster_nodes()
        before = {m: self.local.workers(m) for m in model_ids}
        removed: dict[str, list[str]] = {}
        body: dict[str, Any] = {}
        for node_id in targets:
            stats = {}
            for model_id in model_ids:
                local = self.local.get(node_id, model_id)
                if local is None or local.state != DEPLOYED:
                    stats[model_id] = "not_found"
                    continue
                stats[model_id] = "undeployed"
                self._unload(node_id, local, cause)
                removed.setdefault(model_id, []).append(node_id)
            body[node_id] = {"stats": stats}
        for model_id, gone in removed.items():
            if len(before[model_id]) == len(gone):
                self.update_model(
                    model_id,
                    {"planning_worker_nodes": [], "planning_worker_node_count": 0, "current_worker_node_count": 0,
                     "model_state": "UNDEPLOYED"},
                    cause, touch=False,
                )
            else:
                planning = [n for n in before[model_id] if n not in gone]
                self.update_model(
                    model_id,
                    {"deploy_to_all_nodes": False, "planning_worker_nodes": planning,
                     "planning_worker_node_count": len(planning), "current_worker_node_count": len(planning)},
                    cause, touch=False,
                )
        if not removed:
            for model_id in model_ids:
                self.update_model(
                    model_id,
                    {"model_state": "UNDEPLOYED", "planning_worker_nodes": [], "planning_worker_node_count": 0,
                     "current_worker_node_count": 0},
                    cause,
                )
        return body

    def _unload(self, node_id: str, local: LocalModel, cause: str) -> None:
        """Out of the node's cache now; its memory goes when the node's process has stopped."""
        ml = self.ml
        loaded = local.function_name in DL_FUNCTIONS
        self.local.remove(node_id, local.model_id, release_now=not loaded)
        if loaded:
            ml.state.nodes[node_id].stop(route_key(local.model_id))
        ml.stats.add_request(node_id, local.model_id, local.function_name, "undeploy")
        ml.stats.forget_latencies(node_id, local.model_id)
        ml.log.append("os_unload", cause, model_id=local.model_id, node_id=node_id)

    # -- membership (cluster.membership.NodeObserver) ---------------------------------

    def node_joined(self, node_id: str) -> None:
        self.redeployer.node_joined(node_id)

    def node_leaving(self, node_id: str) -> None:
        """A node shutting down leaves ml-commons at once: its loads end, its memory is free."""
        node = self.ml.state.nodes[node_id]
        for local in self.local.on_node(node_id):
            if local.function_name in DL_FUNCTIONS:
                node.stop(route_key(local.model_id))
        self._forget_node(node_id, "node shutdown")

    def node_crashed(self, node_id: str) -> None:
        self._forget_node(node_id, "node crashed")

    def _forget_node(self, node_id: str, cause: str) -> None:
        """The node's cache goes, and with it the models it served; a deploy waiting for it
        waits on (its task times out at a sync-up) and the model's state follows at the next
        sync-up."""
        dropped = self.local.drop_node(node_id)
        for local in dropped:
            self.ml.stats.forget_latencies(node_id, local.model_id)
        if dropped:
            self.ml.log.append(
                "os_node_removed", cause, node_id=node_id, models=sorted({m.model_id for m in dropped}),
            )

    # -- access and writes ----------------------------------------------------------

    def note_access(self, node_id: str, model_id: str) -> None:
        """A request served on the node: the model's TTL counts from now."""
        local = self.local.get(node_id, model_id)
        if local is not None:
            local.last_access = self.ml.env.now

    def update_model(self, model_id: str, fields: dict[str, Any], cause: str, touch: bool = True) -> None:
        """Partial update of the model doc (ml-commons' `updateModel` also stamps
        `last_updated_time`; its bulk writes from undeploy do not); a deleted doc is skipped."""
        index = self.ml.store[MODEL_INDEX]
        before = index.get(model_id)
        if before is None:
            return
        partial = dict(fields)
        if touch:
            partial["last_updated_time"] = self.ml.clock.millis()
        index.update(model_id, partial)
        state = partial.get("model_state")
        if state is not None and state != before.get("model_state"):
            self.ml.log.append("os_model_state", cause, model_id=model_id, state=state)
