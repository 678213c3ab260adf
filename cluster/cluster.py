"""The simulated cluster as one object: what scripts, scenarios and the REST layer call."""

from __future__ import annotations

import asyncio
import json
import math
from json.encoder import encode_basestring_ascii
from typing import Any, Callable

import numpy as np
import simpy

from nodes.inference_queue import DEFAULT_TIMEOUT_SECONDS
from nodes.resources import GiB, NodeSpec

from .assignment import Assignment
from .autoscaling import Autoscaler
from .clock import DEFAULT_EPOCH_MS, ClockMode, SimClock
from .deployments import DeploymentService
from .errors import MlError
from .events import EventLog
from .feature_reset import FEATURES, Feature, reset_inference, reset_machine_learning
from .inference import infer
from .inference_endpoints import InferenceEndpoints
from .ingest import IngestService
from .master import Master
from .membership import Membership
from .ml_autoscaling.orchestrator import Orchestrator
from .ml_autoscaling.service import AutoscalingService
from .ml_autoscaling.tier_shape import AutoscalingConfig
from .model_service import ModelService
from .models import TrainedModel
from .opensearch.local_models import ROUTE_KEY_PREFIX
from .opensearch.service import MlCommons
from .requests import StartRequest
from .route_dispatch import RouteDispatcher
from .serving import Serving, Ticket, ticket_error
from .settings import ClusterSettings
from .state import ClusterState
from .traffic import TrafficProfile

#: Cache key text (`json.dumps(value, sort_keys=True, default=str)`), built once:
#: `json.dumps` with options builds an encoder per call.
_CACHE_KEY = json.JSONEncoder(sort_keys=True, default=str)


def cache_key(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, default=str)`, written directly for the usual
    `_infer` inputs (no config update; a document of one text field): the same text."""
    if value is None:
        return "null"
    if type(value) is dict and len(value) == 1:
        ((field, text),) = value.items()
        if type(field) is str and type(text) is str:
            return "{" + encode_basestring_ascii(field) + ": " + encode_basestring_ascii(text) + "}"
    return _CACHE_KEY.encode(value)


class Cluster:
    """A simulated Elasticsearch cluster with ML nodes, in simulated time.

    `seed` feeds the one random generator everything random draws from (node ids, injected
    behaviour), so the same inputs and seed replay the same event log byte for byte.
    """

    def __init__(
        self,
        settings: ClusterSettings | None = None,
        seed: int = 0,
        clock: ClockMode = "experiment",
        speed: float = 1.0,
        epoch_ms: int = DEFAULT_EPOCH_MS,
    ) -> None:
        self.settings = settings or ClusterSettings()
        self.env = simpy.Environment()
        self.clock = SimClock(self.env, clock, speed, epoch_ms)
        self.rng = np.random.default_rng(seed)
        self.log = EventLog(lambda: self.env.now, self.settings.event_log_capacity)
        self.state = ClusterState(self.settings)
        self.master = Master(self.state, self.log)
        self.serving = Serving(self.env, self.state, self.log, self.rng.spawn(1)[0])
        #: Nodes report each route to its owner: the master, or ml-commons for its keys.
        self.routes = RouteDispatcher(self.master)
        self.membership = Membership(
            self.env, self.state, self.master, self.log, self.rng, self.serving, self.routes
        )
        self.models = ModelService(self.state, self.master, self.clock, self.log)
        self.deployments = DeploymentService(self.state, self.master, self.clock, self.log)
        #: Elasticsearch's autoscaling policies and `ml` decider (`_autoscaling/capacity`).
        self.ml_autoscaling = AutoscalingService(self.state, self.clock)
        #: The simulated orchestrator, when the cluster file has an `autoscaling` key.
        self.orchestrator: Orchestrator | None = None
        self.autoscaler = Autoscaler(self.env, self.state, self.deployments, self.serving, self.log)
        self.master.before_change = self._before_change
        #: OpenSearch's ml-commons on the same nodes, clock and memory.
        self.ml_commons = MlCommons(self.env, self.clock, self.state, self.log, self.rng.spawn(1)[0])
        deployer = self.ml_commons.deployer
        self.routes.claim(ROUTE_KEY_PREFIX, deployer)
        self.membership.observers.append(deployer)
        self.state.external_memory = deployer.memory_on
        deployer.memory_released = self._external_memory_released
        #: Ingest pipelines that run (inference processors go through `infer`).
        self.ingest = IngestService(self.state, self.clock, self.infer_each)
        #: The inference API's endpoints (each one a deployment of the same id).
        self.inference_endpoints = InferenceEndpoints(
            self.state, self.models, self.deployments, self.infer, self.clock, self.log
        )

    def enable_autoscaling(self, config: AutoscalingConfig) -> Orchestrator:
        """Create the config's `ml` policy and the orchestrator that polls it and resizes
        the tier (the nodes present now are its first instances). Once per cluster."""
        if self.orchestrator is not None:
            raise ValueError("autoscaling is already enabled")
        self.orchestrator = Orchestrator(
            self.env, self.state, self.ml_autoscaling, self.log, config, self.membership.join, self.membership.leave
        )
        return self.orchestrator

    def _before_change(self) -> None:
        self.serving.sync()
        self.autoscaler.ensure_ticking()

    def _external_memory_released(self) -> None:
        """ml-commons gave node memory back: deployments that did not fit may now (as
        Elasticsearch re-plans when other ML jobs stop)."""
        if self.state.assignments:
            self.master.rebalance("ml-commons memory released")

    # -- time -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.env.now

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def run_until(self, predicate: Callable[[], bool], timeout: float = math.inf) -> bool:
        return self.clock.run_until(predicate, timeout)

    # -- nodes ----------------------------------------------------------------------

    def add_node(
        self,
        name: str | None = None,
        memory_gb: float = 16,
        processors: float = 8,
        zone: str = "",
        **spec: Any,
    ) -> str:
        """Join an ML node; returns its id. Extra keywords go to `NodeSpec`."""
        name = name or f"ml-{len(self.state.nodes) + 1}"
        return self.membership.join(
            NodeSpec(name=name, machine_memory=int(memory_gb * GiB), allocated_processors=processors, zone=zone, **spec)
        )

    def remove_node(self, node_id: str) -> None:
        self.membership.leave(node_id)

    def crash_node(self, node_id: str) -> None:
        self.membership.crash(node_id)

    def node_id(self, name: str) -> str:
        """Id of the node called `name`."""
        for node_id, node in self.state.nodes.items():
            if node.name == name:
                return node_id
        raise KeyError(name)

    # -- models and deployments -----------------------------------------------------

    def add_pytorch_model(
        self,
        model_id: str,
        model_bytes: int,
        task_type: str = "text_embedding",
        field_names: tuple[str, ...] = ("text_field",),
        task_settings: dict[str, Any] | None = None,
        **metadata: int,
    ) -> TrainedModel:
        """A PyTorch model with a complete definition and a vocabulary, ready to deploy."""
        config: dict[str, Any] = {
            "model_type": "pytorch",
            "inference_config": {task_type: dict(task_settings or {})},
            "input": {"field_names": list(field_names)},
        }
        if metadata:
            config["metadata"] = dict(metadata)
        model = self.models.put(model_id, config)
        self.models.put_definition_part(model_id, 0, 1, model_bytes)
        self.models.put_vocabulary(model_id, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
        return model

    def start_deployment(
        self, model_id: str, wait_for: str = "started", timeout: float = 30.0, **options: Any
    ) -> Assignment:
        """Start and, in the experiment or virtual clock, wait as the REST call would."""
        request = StartRequest(model_id=model_id, wait_for=wait_for, timeout=timeout, **options)
        assignment = self.deployments.start(request)
        return self.deployments.run_until_started(assignment.deployment_id, wait_for, timeout)

    def assignment(self, deployment_id: str) -> Assignment:
        return self.state.assignments[deployment_id]

    def fully_allocated(self, *deployment_ids: str) -> Callable[[], bool]:
        """A condition: every named deployment (default: all) is fully allocated."""

        def holds() -> bool:
            ids = deployment_ids or tuple(self.state.assignments)
            return all(
                d in self.state.assignments
                and self.state.assignments[d].allocation_status().state == "fully_allocated"
                for d in ids
            )

        return holds

    # -- feature states -------------------------------------------------------------

    def reset_features(self) -> tuple[Feature, ...]:
        """`POST /_features/_reset`: every feature back to a fresh install (see
        `cluster.feature_reset`); returns the features reset. Elasticsearch resets them side
        by side, so when the ML one refuses (an ingest pipeline with an inference processor,
        raised as its 500) the inference plugin's endpoints are gone all the same."""
        reset_inference(self.inference_endpoints, self.log)
        reset_machine_learning(self.state, self.master, self.models, self.log)
        return FEATURES

    # -- inference ------------------------------------------------------------------

    async def infer(
        self,
        name: str,
        docs: list[dict[str, Any]],
        config_update: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> list[dict[str, Any]]:
        """`_infer`: the answer's content from `inference_results`; for a PyTorch model one
        request per document through a started route's queue, answered (or refused with
        429 / 408) at its simulated answer time."""
        tickets, results = await self._serve(name, docs, config_update, timeout)
        error = next((r for r in results if isinstance(r, MlError)), None)
        if error is None and tickets is not None:
            error = ticket_error(tickets, timeout)
        if error is not None:
            raise error
        return results

    async def infer_each(
        self,
        name: str,
        docs: list[dict[str, Any]],
        config_update: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> list[dict[str, Any] | MlError]:
        """`infer` with one outcome per document, as ingest sends one request per document:
        a document refused (429) or timed out (408) fails alone; a missing or unallocated
        model still fails the whole call."""
        tickets, results = await self._serve(name, docs, config_update, timeout)
        if tickets is None:
            return list(results)
        queued = iter(tickets)
        return [result if isinstance(result, MlError) else ticket_error([next(queued)], timeout) or result
                for result in results]

    async def _serve(
        self, name: str, docs: list[dict[str, Any]], config_update: dict[str, Any] | None, timeout: float
    ) -> tuple[list[Ticket] | None, list[dict[str, Any] | MlError]]:
        """The results, and once answered the tickets of the documents that were queued
        (None for a model that answers in place): a document refused before the queue
        (no input text) takes no place in it and is not counted, as in ES."""
        self.autoscaler.wake(name)
        deployment, results = infer(self.state, name, docs, config_update)
        if deployment is None:
            return None, results
        config = cache_key(config_update)
        keys = [cache_key(doc) + config for doc, result in zip(docs, results) if not isinstance(result, MlError)]
        if not keys:
            return [], results
        tickets = self.serving.submit(deployment.deployment_id, keys, timeout)
        if self.clock.mode != "realtime":
            # Requests that arrived in the same loop tick submit theirs before the clock
            # steps, so one window serves them all (realtime batches by itself).
            await asyncio.sleep(0)
        await self.clock.wait_until(lambda: self.serving.answered(tickets))
        return tickets, results

    def add_traffic(self, deployment_id: str, profile: TrafficProfile) -> None:
        """Drive `deployment_id` with `profile` (see `cluster.traffic`) from now on, served
        in windows at every control event and every stats read."""
        self.serving.add_traffic(deployment_id, profile)
        self.autoscaler.ensure_ticking()

    def remove_traffic(self, deployment_id: str) -> int:
        """Stop the traffic profiles on `deployment_id`; how many there were."""
        return self.serving.remove_traffic(deployment_id)
