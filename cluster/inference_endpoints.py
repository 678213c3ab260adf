"""The inference API (8.12+) with the in-cluster services: `elasticsearch` and its deprecated
`elser` spelling. An endpoint is a trained-model deployment whose deployment id is the
inference id: creating one starts the deployment (`num_allocations`, `num_threads`,
`adaptive_allocations`), updating it scales the deployment, deleting it stops it, and
inference goes through the deployment's queue like any `_infer` call.

Elastic's own models (ELSER v2, multilingual E5 small) are put on first use, complete, as
if their download had finished; any other model must already exist (eland-uploaded). The
default endpoints `.elser-2-elasticsearch` and `.multilingual-e5-small-elasticsearch` exist
in every cluster and start their deployment (adaptive, from zero) on first inference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .clock import SimClock
from .deployments import DeploymentService
from .errors import MlError, illegal_argument, status_error, validation_failed
from .events import EventLog
from .inference_results import DEFAULT_EMBEDDING_SIZE
from .inference_settings import (
    DEFAULT_CHUNKING, SERVICE, SERVICE_SETTINGS, parse_adaptive, parse_chunking, parse_service_settings,
    parse_task_type, pop_object, unknown_settings, validation_exception,
)
from .ml_limits import model_platform_variant
from .model_service import ModelService
from .models import model_from_config
from .requests import AdaptiveAllocations, StartRequest, UpdateRequest
from .state import ClusterState

OLD_ELSER_SERVICE = "elser"
SERVICES = (SERVICE, OLD_ELSER_SERVICE)
SUPPORTED_TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank")
#: Which trained-model inference config each endpoint task type needs.
MODEL_TASK = {"text_embedding": "text_embedding", "sparse_embedding": "text_expansion", "rerank": "text_similarity"}

ELSER_MODEL = ".elser_model_2"
X86 = "linux-x86_64"
X86_SUFFIX = "_" + X86
ELSER_MODEL_X86 = ELSER_MODEL + X86_SUFFIX
ELSER_MODELS = (".elser_model_1", ELSER_MODEL, ELSER_MODEL_X86)
E5_MODEL = ".multilingual-e5-small"
E5_MODEL_X86 = E5_MODEL + X86_SUFFIX
E5_MODELS = (E5_MODEL, E5_MODEL_X86)
#: Sizes of Elastic's models (their parameter count in float32): what a deployment reserves.
ELASTIC_MODEL_BYTES = {ELSER_MODEL: 438_123_914, ELSER_MODEL_X86: 438_123_914, E5_MODEL: 470_067_362,
                       E5_MODEL_X86: 470_067_362}
ELASTIC_MODEL_TASK = {ELSER_MODEL: "text_expansion", ELSER_MODEL_X86: "text_expansion", E5_MODEL: "text_embedding",
                      E5_MODEL_X86: "text_embedding"}

#: The endpoints every cluster lists from the start (ES 8.16+), scaling from zero.
DEFAULT_ADAPTIVE = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}
DEFAULT_ENDPOINTS = ((".elser-2-elasticsearch", "sparse_embedding", ELSER_MODEL_X86),
                     (".multilingual-e5-small-elasticsearch", "text_embedding", E5_MODEL_X86))
DEFAULT_IDS = frozenset(inference_id for inference_id, _, _ in DEFAULT_ENDPOINTS)
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$")

#: `Cluster.infer`: (deployment id, docs, inference_config update, timeout) -> results.
InferFn = Callable[[str, list[dict[str, Any]], "dict[str, Any] | None", float], Awaitable[list[dict[str, Any]]]]


@dataclass
class InferenceEndpoint:
    inference_id: str
    task_type: str
    model_id: str
    num_threads: int
    num_allocations: int | None
    adaptive_allocations: dict[str, Any] | None
    chunking_settings: dict[str, Any] | None
    task_settings: dict[str, Any] = field(default_factory=dict)
    dimensions: int | None = None
    #: One of the endpoints every cluster has; its deployment starts on first use.
    reserved: bool = False

    def to_dict(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if self.num_allocations is not None:
            settings["num_allocations"] = self.num_allocations
        settings["num_threads"] = self.num_threads
        settings["model_id"] = self.model_id
        if self.adaptive_allocations is not None:
            settings["adaptive_allocations"] = self.adaptive_allocations
        if self.dimensions is not None:
            settings.update(dimensions=self.dimensions, similarity="cosine", element_type="float")
        body: dict[str, Any] = {"inference_id": self.inference_id, "task_type": self.task_type,
                                "service": SERVICE, SERVICE_SETTINGS: settings}
        if self.task_settings:
            body["task_settings"] = dict(self.task_settings)
        if self.chunking_settings is not None:
            body["chunking_settings"] = dict(self.chunking_settings)
        return body


def not_found(inference_id: str) -> MlError:
    return MlError(404, "resource_not_found_exception", f"Inference endpoint not found [{inference_id}]")


class InferenceEndpoints:
    """Endpoints by id, each backed by the deployment of the same id."""

    def __init__(self, state: ClusterState, models: ModelService, deployments: DeploymentService,
                 infer: InferFn, clock: SimClock, log: EventLog) -> None:
        self.state = state
        self.clock = clock
        self.log = log
        self.models = models
        self.deployments = deployments
        self.infer = infer
        self.endpoints: dict[str, InferenceEndpoint] = {
            inference_id: InferenceEndpoint(inference_id, task_type, model_id, 1, None, dict(DEFAULT_ADAPTIVE),
                                            dict(DEFAULT_CHUNKING), reserved=True,
                                            dimensions=DEFAULT_EMBEDDING_SIZE if task_type == "text_embedding" else None)
            for inference_id, task_type, model_id in DEFAULT_ENDPOINTS
        }
        models.is_inference_endpoint = self.endpoints.__contains__

    # -- create ----------------------------------------------------------------------

    def parse(self, inference_id: str, url_task_type: str, body: dict[str, Any]) -> tuple[InferenceEndpoint, list[str]]:
        """The endpoint a PUT body describes (nothing changes yet) and its deprecation warnings."""
        if not _ID.match(inference_id):
            raise validation_failed([f"Invalid inference_id; '{inference_id}' can contain lowercase alphanumeric "
                                     "(a-z and 0-9), hyphens or underscores; must start and end with alphanumeric"])
        config = dict(body)
        service = config.pop("service", None)
        if service is None:
            raise status_error(400, "Model configuration is missing a service")
        if service not in SERVICES:
            raise status_error(400, f"Unknown service [{service}]")
        task_type = self._resolve_task_type(url_task_type, config.pop("task_type", None))
        if task_type not in SUPPORTED_TASK_TYPES:
            raise status_error(400, f"The [{SERVICE}] service does not support task type [{task_type}]")
        raw_settings = pop_object(config, SERVICE_SETTINGS)
        if raw_settings is None:
            raise status_error(400, f"Missing required field [{SERVICE_SETTINGS}]")
        task_settings = pop_object(config, "task_settings") or {}
        chunking = parse_chunking(config.pop("chunking_settings", None)) if task_type != "rerank" else None
        if config:
            raise unknown_settings(config)
        settings = parse_service_settings(raw_settings)
        warnings = []
        x86 = model_platform_variant(self.state) == X86
        default_elser = ELSER_MODEL_X86 if x86 else ELSER_MODEL
        model_id = settings.model_id
        if model_id is None:
            if service != OLD_ELSER_SERVICE:
                raise illegal_argument("Error parsing service settings, model_id must be provided")
            model_id = default_elser
        if service == OLD_ELSER_SERVICE:
            warnings.append(f"The [{OLD_ELSER_SERVICE}] service is deprecated and will be removed in a future release. "
                            f"Use the [{SERVICE}] service instead, with [model_id] set to [{default_elser}] in the "
                            "[service_settings]")
        unusable = model_id.endswith(X86_SUFFIX) and not x86
        if model_id in ELSER_MODELS and (model_id not in ELASTIC_MODEL_BYTES or unusable):
            raise illegal_argument("Error parsing request config, model id does not match any models available on "
                                   f"this platform. Was [{model_id}]. You may need to use a platform agnostic model.")
        if model_id in E5_MODELS and unusable:
            raise illegal_argument("Error parsing request config, model id does not match any models available on "
                                   f"this platform. Was [{model_id}]")
        self._check_model(model_id, task_type)
        if task_type == "rerank":
            task_settings = self._rerank_settings(task_settings)
        elif task_settings:
            raise unknown_settings(task_settings)
        if inference_id in self.endpoints:  # found when storing, after the request parsed
            raise MlError(400, "resource_already_exists_exception", f"Inference endpoint [{inference_id}] already exists")
        endpoint = InferenceEndpoint(inference_id, task_type, model_id, settings.num_threads, settings.num_allocations,
                                     settings.adaptive_dict, chunking, task_settings)
        if task_type == "text_embedding":
            endpoint.dimensions = self._dimensions(model_id)
        return endpoint, warnings

    @staticmethod
    def _resolve_task_type(url: str, body: Any) -> str:
        if body is None:
            if url == "any":
                raise status_error(400, "model is missing required setting [task_type]")
            return url
        parsed = parse_task_type(str(body))
        if parsed == "any":
            raise status_error(400, "task_type [any] is not valid type for inference")
        if url not in ("any", parsed):
            raise status_error(400, "Cannot resolve conflicting task_type parameter in the request URL "
                               f"[{url}] and the request body [{body}]")
        return parsed

    def _check_model(self, model_id: str, task_type: str) -> None:
        if model_id in ELASTIC_MODEL_BYTES:
            wanted = MODEL_TASK[task_type]
            if ELASTIC_MODEL_TASK[model_id] != wanted:
                raise status_error(400, f"Deployed model [{model_id}] with type [{ELASTIC_MODEL_TASK[model_id]}] does "
                                   f"not match the requested task type [{task_type}]")
            return
        resolved = self.state.resolve_model_id(model_id)
        if resolved is None:
            raise illegal_argument("Error parsing request config, model id does not match any models available on "
                                   f"this platform. Was [{model_id}]. You may need to load it into the cluster using "
                                   "eland.")
        model = self.state.models[resolved]
        if model.task_type not in MODEL_TASK.values():
            raise status_error(400, f"Deployed model [{model_id}] has type [{model.task_type}] which does not map to "
                               "any supported task types")
        if MODEL_TASK[task_type] != model.task_type:
            raise status_error(400, f"Deployed model [{model_id}] with type [{model.task_type}] does not match the "
                               f"requested task type [{task_type}]")

    def _rerank_settings(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Rerank task settings: `return_documents` (default true) and `top_n`."""
        settings = dict(raw)
        value = settings.pop("return_documents", True)
        if not isinstance(value, bool):
            raise validation_exception([f"field [return_documents] is not of the expected type. The value [{value}] "
                                        "cannot be converted to a [Boolean]"])
        parsed: dict[str, Any] = {"return_documents": value}
        top_n = settings.pop("top_n", None)
        if top_n is not None:
            if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n <= 0:
                raise validation_exception([f"[task_settings] Invalid value [{top_n}]. [top_n] must be a positive "
                                            "integer"])
            parsed["top_n"] = top_n
        if settings:
            raise unknown_settings(settings)
        return parsed

    def _dimensions(self, model_id: str) -> int:
        model = self.state.models.get(self.state.resolve_model_id(model_id) or "")
        size = model.task_settings.get("embedding_size") if model is not None else None
        return int(size or DEFAULT_EMBEDDING_SIZE)

    async def create(self, endpoint: InferenceEndpoint, timeout: float) -> InferenceEndpoint:
        """Put Elastic's model if needed, start the deployment and wait until it has started;
        a refused start leaves no endpoint."""
        await self._start(endpoint, timeout)
        return endpoint

    async def _start(self, endpoint: InferenceEndpoint, timeout: float) -> None:
        self._provide_elastic_model(endpoint.model_id)
        adaptive = None
        if endpoint.adaptive_allocations is not None:
            adaptive = AdaptiveAllocations(
                bool(endpoint.adaptive_allocations["enabled"]),
                endpoint.adaptive_allocations.get("min_number_of_allocations"),
                endpoint.adaptive_allocations.get("max_number_of_allocations"),
            )
        request = StartRequest(model_id=endpoint.model_id, deployment_id=endpoint.inference_id,
                               number_of_allocations=endpoint.num_allocations,
                               threads_per_allocation=endpoint.num_threads, adaptive_allocations=adaptive,
                               timeout=timeout, wait_for="started")
        assignment = self.deployments.start(request)
        self.endpoints[endpoint.inference_id] = endpoint
        try:
            await self.deployments.wait_for_start(assignment.deployment_id, "started", timeout)
        except MlError:
            # A start that times out keeps starting and the endpoint stays, as in ES; one
            # whose routes failed took its deployment with it, and so goes the endpoint.
            if endpoint.inference_id not in self.state.assignments and not endpoint.reserved:
                del self.endpoints[endpoint.inference_id]
            raise

    def _provide_elastic_model(self, model_id: str) -> None:
        """Elastic's model, complete, as after its download. Its id starts with a dot, which
        the user-facing model PUT refuses, so it is stored here directly."""
        if model_id not in ELASTIC_MODEL_BYTES or model_id in self.state.models:
            return
        config = {"model_type": "pytorch", "inference_config": {ELASTIC_MODEL_TASK[model_id]: {}},
                  "input": {"field_names": ["text_field"]}}
        self.state.models[model_id] = model_from_config(model_id, config, self.clock.millis())
        self.log.append("model_created", "put Elastic model for an inference endpoint", model_id=model_id,
                        model_type="pytorch")
        self.models.put_definition_part(model_id, 0, 1, ELASTIC_MODEL_BYTES[model_id])
        self.models.put_vocabulary(model_id, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])

    # -- read, update, delete ----------------------------------------------------------

    def get(self, inference_id: str, task_type: str = "any") -> InferenceEndpoint:
        endpoint = self.endpoints.get(inference_id)
        if endpoint is None:
            raise not_found(inference_id)
        if task_type not in ("any", endpoint.task_type):
            raise status_error(400, f"Requested task type [{task_type}] does not match the inference endpoint's "
                               f"task type [{endpoint.task_type}]")
        return endpoint

    def list(self, task_type: str = "any") -> list[InferenceEndpoint]:
        return [e for _, e in sorted(self.endpoints.items()) if task_type in ("any", e.task_type)]

    def update(self, inference_id: str, task_type: str, body: dict[str, Any]) -> InferenceEndpoint:
        """`_update`: `num_allocations` or `adaptive_allocations` scale the deployment."""
        endpoint = self.get(inference_id, task_type)
        config = dict(body)
        settings = dict(pop_object(config, SERVICE_SETTINGS) or {})
        task_settings = pop_object(config, "task_settings")
        if config:
            raise unknown_settings(config)
        errors: list[str] = []
        allocations = settings.pop("num_allocations", None)
        if allocations is not None and (not isinstance(allocations, int) or isinstance(allocations, bool)
                                        or allocations <= 0):
            errors.append(f"[{SERVICE_SETTINGS}] Invalid value [{allocations}]. [num_allocations] must be a positive "
                          "integer")
        adaptive, adaptive_dict = parse_adaptive(settings.pop("adaptive_allocations", None), errors)
        for name in settings:
            errors.append(f"[{SERVICE_SETTINGS}] does not allow the setting [{name}]")
        if errors:
            raise validation_exception(errors)
        new_task_settings = endpoint.task_settings
        if task_settings:
            if endpoint.task_type != "rerank":
                raise unknown_settings(task_settings)
            new_task_settings = {**endpoint.task_settings, **self._rerank_settings(task_settings)}
        if allocations is not None or adaptive is not None:
            fields = frozenset(adaptive_dict or ())
            self.deployments.update(UpdateRequest(inference_id, number_of_allocations=allocations,
                                                  adaptive_allocations=adaptive, adaptive_fields=fields))
            if allocations is not None:
                endpoint.num_allocations = allocations
            if adaptive_dict is not None:
                endpoint.adaptive_allocations = adaptive_dict
                if adaptive_dict.get("enabled"):
                    endpoint.num_allocations = None
        endpoint.task_settings = new_task_settings
        return endpoint

    def referencing_pipelines(self, inference_id: str) -> list[str]:
        return self.state.pipelines_referencing(inference_id)

    def delete(self, inference_id: str, task_type: str, force: bool) -> list[str]:
        """Stop the endpoint's deployment and forget it; returns the deployment ids stopping."""
        endpoint = self.get(inference_id, task_type)
        if endpoint.reserved and not force:
            raise status_error(400, f"[{inference_id}] is a reserved inference endpoint. Use the force=true query "
                               "parameter to delete the inference endpoint.")
        if not force and self.referencing_pipelines(inference_id):
            raise status_error(409, f"Inference endpoint {inference_id} is referenced by pipelines and cannot be "
                               "deleted. Use `force` to delete it anyway, or use `dry_run` to list the pipelines that "
                               "reference it.")
        stopping = []
        if endpoint.inference_id in self.state.assignments:
            stopping = self.deployments.stop(endpoint.inference_id, force=True)
        del self.endpoints[inference_id]
        return stopping

    def forget_created(self) -> list[str]:
        """Forget every endpoint a user created, leaving their deployments alone (the
        inference plugin's feature reset deletes its index of endpoint configs; the
        deployments are the ML feature's); the default endpoints stay. Returns the ids."""
        created = sorted(i for i, e in self.endpoints.items() if not e.reserved)
        for inference_id in created:
            del self.endpoints[inference_id]
        return created

    # -- inference -------------------------------------------------------------------

    async def run(self, inference_id: str, task_type: str, inputs: list[str], query: str | None,
                  task_settings: dict[str, Any], timeout: float) -> dict[str, Any]:
        endpoint = self.endpoints.get(inference_id)
        if endpoint is None:
            raise not_found(inference_id)
        if task_type not in ("any", endpoint.task_type):
            raise status_error(400, f"Incompatible task_type, the requested type [{task_type}] does not match the "
                               f"model type [{endpoint.task_type}]")
        if endpoint.reserved and inference_id not in self.state.assignments:
            await self._start(endpoint, timeout)
        if endpoint.task_type == "rerank":
            if query is None:
                raise validation_failed(["Field [query] cannot be null for task type [rerank]"])
            return await self._rerank(endpoint, inputs, query, task_settings, timeout)
        field = self._input_field(endpoint)
        docs = [{field: text} for text in inputs]
        results = await self.infer(inference_id, docs, None, timeout)
        values = [next(iter(r.values())) for r in results]
        if endpoint.task_type == "text_embedding":
            return {"text_embedding": [{"embedding": v} for v in values]}
        return {"sparse_embedding": [{"is_truncated": False, "embedding": v} for v in values]}

    def _input_field(self, endpoint: InferenceEndpoint) -> str:
        model = self.state.models.get(self.state.resolve_model_id(endpoint.model_id) or "")
        return model.field_names[0] if model is not None and model.field_names else "text_field"

    async def _rerank(self, endpoint: InferenceEndpoint, inputs: list[str], query: str,
                      task_settings: dict[str, Any], timeout: float) -> dict[str, Any]:
        settings = {**endpoint.task_settings, **self._rerank_settings(task_settings)} if task_settings \
            else endpoint.task_settings
        field = self._input_field(endpoint)
        results = await self.infer(endpoint.inference_id, [{field: text} for text in inputs],
                                   {"text_similarity": {"text": query}}, timeout)
        scored = [(float(next(iter(r.values()))), i) for i, r in enumerate(results)]
        ranked = []
        order = sorted(scored, key=lambda s: (-s[0], s[1]))
        for score, i in order[:settings.get("top_n") or len(order)]:
            entry: dict[str, Any] = {"index": i, "relevance_score": score}
            if settings.get("return_documents", True):
                entry["text"] = inputs[i]
            ranked.append(entry)
        return {"rerank": ranked}
