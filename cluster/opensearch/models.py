"""ml-commons models: register, get, search and delete.

Register follows ml-commons: a model joins a model group (the one named in the body, else the
group named like the model, else a new group of that name) and takes the group's bumped
`latest_version` as its `model_version`.

- Remote models (`function_name: remote`, with an inline `connector` or a `connector_id`) are
  registered at once: `{"task_id", "status": "CREATED", "model_id"}`, model REGISTERED, task
  COMPLETED.
- Local models (TORCH_SCRIPT / ONNX) are dispatched to an eligible node (`task_dispatch_policy`,
  see `dispatcher.py`) and answered
  with `{"task_id", "status": "CREATED"}`; the task runs while the artifact is downloaded and
  stored in chunks, a simpy process lasting size / `register_bandwidth_bytes_per_second`. The
  model is REGISTERING meanwhile, then REGISTERED (with `total_chunks` of 10 MB,
  `model_content_size_in_bytes`, `last_registered_time`) and the task COMPLETED with its
  `model_id`.

A `url` is refused unless `allow_registering_model_via_url` is on (ml-commons' default is off).
Artifact size: `model_content_size_in_bytes` from the body when given (the simulator's knob;
ml-commons measures the downloaded file); else, for a pretrained model named without `url`,
the size in `pretrained.PRETRAINED`; else 100 MB (`DEFAULT_ARTIFACT_BYTES`). A pretrained name
that is not in the table fails the task as ml-commons does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from typing import TYPE_CHECKING, Any, Generator, Mapping

from . import breakers
from .connectors import MCP_PROTOCOLS, check_trusted_endpoints, predict_action, without_credential
from .documents import CONTROLLER_INDEX, MODEL_INDEX
from .errors import MlError, illegal_argument, os_status, require_local_model, require_remote_inference
from .ids import new_document_id
from .local_models import CHUNK_SIZE
from .model_states import ON_NODES_STATES
from .pretrained import NOT_IN_LIST, PRETRAINED, pretrained_config
from .query_dsl import FieldMapping
from .register_input import RegisterInput, parse_register_input
from .search import parse_request, run_search

if TYPE_CHECKING:
    from .service import MlCommons

DEFAULT_ARTIFACT_BYTES = 100_000_000
#: ml-commons refuses artifacts of 4 GB or more once they are downloaded.
MODEL_FILE_SIZE_LIMIT = 4 * 1024**3
HIDDEN_MODEL = "User doesn't have privilege to perform this operation on this model"
URL_NOT_ALLOWED = (
    "To upload custom model user needs to enable allow_registering_model_via_url settings. Otherwise please use "
    "OpenSearch pre-trained models."
)
TEXT_FIELDS = FieldMapping(frozenset({
    "name", "description", "model_config.all_config", "connector.name", "connector.description",
    "guardrails.input_guardrail.regex", "guardrails.output_guardrail.regex",
    "guardrails.input_guardrail.stop_words.index_name", "guardrails.input_guardrail.stop_words.source_fields",
    "guardrails.output_guardrail.stop_words.index_name", "guardrails.output_guardrail.stop_words.source_fields",
}))
#: `MLModel.toXContent`'s field order, which GET and search follow.
FIELD_ORDER = (
    "name", "model_group_id", "algorithm", "model_version", "description", "model_format", "model_state",
    "model_content_size_in_bytes", "model_content_hash_value", "model_config", "deploy_setting", "is_enabled",
    "is_controller_enabled", "rate_limiter", "created_time", "last_updated_time", "last_registered_time",
    "last_deployed_time", "last_undeployed_time", "model_id", "auto_redeploy_retry_times", "chunk_number",
    "total_chunks",
    "planning_worker_node_count", "current_worker_node_count", "planning_worker_nodes", "deploy_to_all_nodes",
    "is_hidden", "connector", "connector_id", "guardrails", "interface",
)


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """A model document as GET and search show it: ml-commons' field order, no connector
    credential, no `content` (a trained model's; ml-commons excludes it unless asked for)."""
    rank = {name: i for i, name in enumerate(FIELD_ORDER)}
    shown = {key: doc[key] for key in sorted(doc, key=lambda key: rank.get(key, len(rank))) if key != "content"}
    if isinstance(shown.get("connector"), dict):
        shown["connector"] = without_credential(shown["connector"])
    return shown


class Models:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        #: Register tasks running on each node (`max_register_model_tasks_per_node`).
        self._running: dict[str, int] = {}

    @property
    def index(self):
        return self.ml.store[MODEL_INDEX]

    @staticmethod
    def is_remote(doc: Mapping[str, Any]) -> bool:
        return doc.get("algorithm") == "REMOTE"

    # -- register ---------------------------------------------------------------------

    def register(self, body: Mapping[str, Any], deploy: bool = False, model_id: str | None = None,
                 text: str | None = None) -> dict[str, Any]:
        """`POST /models/_register[?deploy=true]`; returns the response body. `model_id` fixes
        the new model's id (the demo registers the seed's models under their documented ids);
        `text`, the body as sent, places positions in parse errors."""
        spec = parse_register_input(body, self.ml.connectors.validate, text)
        if spec.is_remote:
            require_remote_inference(self.ml.settings)
        else:
            require_local_model(self.ml.settings)
        if (spec.url is not None and not self.ml.settings.allow_registering_model_via_url
                and spec.function_name != "METRICS_CORRELATION"):
            raise illegal_argument(URL_NOT_ALLOWED)
        group_id = spec.model_group_id or self.ml.groups.find_by_name(spec.name)
        if spec.is_remote:
            self._check_connector(spec)
        if group_id is None:
            group_id = self.ml.groups.create(spec.name, spec.description, spec.access_mode,
                                             spec.add_all_backend_roles, spec.backend_roles)
        if spec.url is not None and not _finds(self.ml.settings.trusted_url_regex, spec.url):
            raise illegal_argument("URL can't match trusted url regex")
        if self.ml.groups.get(group_id) is None:
            raise os_status(404, "Model group not found")
        if spec.is_remote:
            return self._register_remote(spec, group_id, deploy, model_id)
        node_id = self.ml.deployer.dispatcher.dispatch(spec.function_name)
        task_id = self.ml.tasks.create("REGISTER_MODEL", spec.function_name, None, [node_id])
        self._start_local(spec, group_id, task_id, node_id, deploy, model_id)
        return {"task_id": task_id, "status": "CREATED"}

    def _check_connector(self, spec: RegisterInput) -> None:
        if spec.connector_id and spec.connector_id.strip():
            connector = self.ml.connectors.get_or_404(spec.connector_id)
            if connector.get("protocol") in MCP_PROTOCOLS:
                raise illegal_argument(f"Cannot Create a Model from MCP Connector: {spec.connector_id}")
            return
        if spec.connector is None:
            raise illegal_argument("You must provide connector content when creating a remote model without "
                                   "connector id!")
        if predict_action(spec.connector) is None:
            raise illegal_argument("Connector endpoint is required when creating a remote model without connector "
                                   "id!")
        check_trusted_endpoints(spec.connector, self.ml.settings.trusted_connector_endpoints_regex)

    def running_on(self, node_id: str) -> int:
        """Register tasks downloading on the node."""
        return self._running.get(node_id, 0)

    def _register_remote(self, spec: RegisterInput, group_id: str, deploy: bool,
                         model_id: str | None) -> dict[str, Any]:
        nodes = self.ml.state.assignable_node_ids()
        task_id = self.ml.tasks.create("REGISTER_MODEL", spec.function_name, None, nodes[:1], is_async=False)
        version = self.ml.groups.bump_version(group_id)
        model_id = model_id or new_document_id(self.ml.rng)
        self.index.index(model_id, self._new_doc(spec, group_id, version, "REGISTERED", spec.model_config))
        self.ml.tasks.update(task_id, state="COMPLETED", model_id=model_id)
        self.ml.log.append("os_model_registered", "remote model registered", model_id=model_id, task_id=task_id)
        for node_id in nodes[:1]:
            self.ml.stats.record_request(node_id, model_id, spec.function_name, "register", 0.0, False)
        if deploy:
            self._deploy_registered(model_id)
        return {"task_id": task_id, "status": "CREATED", "model_id": model_id}

    def _start_local(self, spec: RegisterInput, group_id: str, task_id: str, node_id: str, deploy: bool,
                     model_id: str | None) -> None:
        """What the worker node does at once; the download then runs in simulated time."""
        breaker = breakers.tripped(self.ml, node_id, spec.function_name)
        if breaker is not None:
            self._fail(task_id, breaker)
            return
        if self._running.get(node_id, 0) >= self.ml.settings.max_register_model_tasks_per_node:
            self._fail(task_id, "exceed max running task limit")
            return
        version = self.ml.groups.bump_version(group_id)
        config, size = spec.model_config, spec.size_bytes
        if spec.url is None:
            pretrained = PRETRAINED.get(spec.name)
            if pretrained is None:
                self._fail(task_id, NOT_IN_LIST)
                return
            config = config or pretrained_config(spec.name, pretrained)
            size = size or pretrained.size_bytes
            # the downloaded config names the function, whatever the request said
            spec = dataclasses.replace(spec, function_name=pretrained.function_name)
        size = size or DEFAULT_ARTIFACT_BYTES
        model_id = model_id or new_document_id(self.ml.rng)
        self.index.index(model_id, self._new_doc(spec, group_id, version, "REGISTERING", config))
        self.ml.tasks.update(task_id, state="RUNNING")
        self._running[node_id] = self._running.get(node_id, 0) + 1
        self.ml.log.append("os_model_registering", "register task started", model_id=model_id, task_id=task_id,
                           node_id=node_id, size_bytes=size)
        self.ml.env.process(self._download(spec, model_id, task_id, node_id, size, deploy))

    def _download(self, spec: RegisterInput, model_id: str, task_id: str, node_id: str, size: int,
                  deploy: bool) -> Generator[Any, Any, None]:
        seconds = size / self.ml.settings.register_bandwidth_bytes_per_second
        yield self.ml.env.timeout(seconds)
        self._running[node_id] -= 1
        failure = None
        if self.index.get(model_id) is None:
            failure = f"[{model_id}]: document missing"  # deleted while it was downloading
        elif size >= MODEL_FILE_SIZE_LIMIT:
            failure = f"Model file size exceeds the limit of 4GB: {size}"
            self.index.delete(model_id)
        self.ml.stats.record_request(node_id, model_id, spec.function_name, "register", seconds * 1000,
                                     failure is not None)
        if failure is not None:
            self._fail(task_id, failure)
            return
        now = self.ml.clock.millis()
        total_chunks = math.ceil(size / CHUNK_SIZE)
        self._store_chunks(model_id, total_chunks)
        self.index.update(model_id, {
            "model_state": "REGISTERED",
            "model_content_size_in_bytes": size,
            "model_content_hash_value": spec.hash_value or _artifact_hash(spec, size),
            "last_registered_time": now,
            "last_updated_time": now,
            "total_chunks": total_chunks,
        })
        self.ml.tasks.update(task_id, state="COMPLETED", model_id=model_id)
        self.ml.log.append("os_model_registered", "model chunks stored", model_id=model_id, task_id=task_id)
        if deploy:
            self._deploy_registered(model_id)

    def _store_chunks(self, model_id: str, total_chunks: int) -> None:
        """One document per chunk, `{model_id}_{n}`, as ml-commons indexes them in the model
        index. Without `content`: ml-commons' search leaves it out unless asked for, and
        mlsim has no bytes to keep."""
        model = self.index.get(model_id) or {}
        now = self.ml.clock.millis()
        for number in range(total_chunks):
            chunk = {key: model[key] for key in CHUNK_FIELDS if key in model}
            chunk.update({"created_time": now, "last_updated_time": now, "model_id": model_id,
                          "chunk_number": number, "total_chunks": total_chunks})
            self.index.index(chunk_id(model_id, number), present(chunk))

    def _deploy_registered(self, model_id: str) -> None:
        """`?deploy=true`: ml-commons starts the deploy after registering and only logs its failure
        (the register answer stands); the deploy task and model state tell the rest."""
        try:
            self.ml.deployer.deploy(model_id)
        except MlError as error:
            self.ml.log.append("os_deploy_after_register_failed", error.reason, model_id=model_id)

    def _fail(self, task_id: str, error: str) -> None:
        self.ml.tasks.update(task_id, state="FAILED", error=error)
        self.ml.log.append("os_model_register_failed", error, task_id=task_id)

    def _new_doc(self, spec: RegisterInput, group_id: str, version: int, state: str,
                 config: dict[str, Any] | None) -> dict[str, Any]:
        now = self.ml.clock.millis()
        doc = {
            "name": spec.name, "model_group_id": group_id, "algorithm": spec.function_name,
            "model_version": str(version), "description": spec.description, "model_format": spec.model_format,
            "model_state": state, "model_config": config, "deploy_setting": spec.deploy_setting,
            "is_enabled": spec.is_enabled, "rate_limiter": spec.rate_limiter, "created_time": now,
            "last_updated_time": now, "is_hidden": False, "connector": spec.connector,
            "connector_id": spec.connector_id, "guardrails": spec.guardrails, "interface": spec.interface,
        }
        return {key: value for key, value in doc.items() if value is not None}

    # -- get, search, delete ----------------------------------------------------------

    def get(self, model_id: str) -> dict[str, Any]:
        """`GET /models/{id}`: the model document as ml-commons shows it."""
        doc = self.index.get(model_id)
        if not self.index.exists:
            raise os_status(404, "Fail to find model")
        if doc is None:
            raise os_status(404, f"Failed to find model with the provided model id: {model_id}")
        if doc.get("is_hidden"):
            raise os_status(403, HIDDEN_MODEL)
        return present(doc)

    def search(self, body: Mapping[str, Any] | None) -> dict[str, Any]:
        """`/models/_search`: hidden models are left out, connector credentials stripped."""
        request = parse_request(body, TEXT_FIELDS, versions=True)
        return run_search(self.index, request, visible=lambda doc: not doc.get("is_hidden"), present=present)

    def delete(self, model_id: str) -> dict[str, Any]:
        """`DELETE /models/{id}` (`DeleteModelTransportAction`): the delete response. The
        model's controller document and its nodes' token buckets go with it; a controller
        left without its model is removed too, and the answer is still 404. With
        `safe_delete_model`, ingest pipelines naming the model in a `model_id` refuse it."""
        doc = self.index.get(model_id)
        if doc is None:
            self._delete_runtime(model_id)
            raise os_status(404, "Failed to find model")
        if doc.get("is_hidden"):
            raise os_status(403, HIDDEN_MODEL)
        if doc.get("model_state") in ON_NODES_STATES:
            raise os_status(400, "Model cannot be deleted in deploying or deployed state. Try undeploy model first "
                                 "then delete")
        if self.ml.settings.safe_delete_model:
            users = sorted(p for p, body in self.ml.state.pipelines.items() if _names_model(body, model_id))
            if users:
                raise os_status(409, f"{len(users)} ingest pipelines are still using this model, please delete or "
                                     f"update the pipelines first: [{', '.join(users)}]")
        response = self.index.delete(model_id)
        for number in range(int(doc.get("total_chunks") or 0)):
            if self.index.get(chunk_id(model_id, number)) is not None:
                self.index.delete(chunk_id(model_id, number))
        self._delete_runtime(model_id)
        self.ml.log.append("os_model_deleted", "model deleted", model_id=model_id)
        return response

    def _delete_runtime(self, model_id: str) -> None:
        controllers = self.ml.store[CONTROLLER_INDEX]
        if controllers.get(model_id) is not None:
            controllers.delete(model_id)
        self.ml.rate_limits.forget(model_id)


#: The model fields a chunk document repeats (`MLModelManager` builds chunks with them).
CHUNK_FIELDS = ("name", "algorithm", "model_version", "model_format", "is_enabled", "rate_limiter", "is_hidden",
                "guardrails", "interface")


def chunk_id(model_id: str, number: int) -> str:
    """ml-commons' `getModelChunkId`."""
    return f"{model_id}_{number}"


def _names_model(config: Any, model_id: str, key: str = "") -> bool:
    """Whether a pipeline's configuration holds `model_id` under a `model_id` key anywhere
    (in a list, an item counts under the list's key), as ml-commons searches it."""
    if isinstance(config, dict):
        return any(_names_model(value, model_id, name) for name, value in config.items())
    if isinstance(config, list):
        return any(_names_model(item, model_id, key) for item in config)
    return key == "model_id" and config == model_id


def _finds(regex: str, text: str) -> bool:
    """Java's `Matcher.find` of a setting's regex (one Python cannot compile finds nothing)."""
    try:
        return re.search(regex, text) is not None
    except re.error:
        return False


def _artifact_hash(spec: RegisterInput, size: int) -> str:
    """A stand-in for the SHA-256 of the downloaded artifact (stable for the same source)."""
    return hashlib.sha256(f"{spec.name}|{spec.url}|{spec.model_format}|{size}".encode("utf-8", "surrogatepass")).hexdigest()
