"""Trained model configs: put, get, delete, definition parts and vocabularies.

The body is checked for shape here (unknown fields, wrong types) with ES's parse errors;
what a valid shape may mean (ids, duplicates, references) is the cluster's to decide.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.errors import validation_failed
from cluster.model_queries import expand_models
from cluster.models import ANALYTICS_TASK_TYPES, MODEL_TYPES, NLP_TASK_TYPES, TrainedModel
from cluster.node_info import ML_CONFIG_VERSION

from .body import JsonBody, read_body
from .context import cluster_of
from .params import Query
from .responses import acknowledged, render

routes = web.RouteTableDef()

BASE = "/_ml/trained_models"
INCLUDE_OPTIONS = ("definition", "total_feature_importance", "feature_importance_baseline", "hyperparameters",
                   "definition_status")
PUT_FIELDS = ("model_id", "model_type", "description", "tags", "metadata", "input", "inference_config",
              "definition", "compressed_definition", "model_size_bytes", "estimated_operations", "location",
              "default_field_map", "platform_architecture", "prefix_strings")
#: Metadata the memory estimate reads, so it must hold non-negative integers.
MEMORY_METADATA = ("per_deployment_memory_bytes", "per_allocation_memory_bytes")
PYTORCH_LOCATION = {"index": {"name": ".ml-inference-native-000002"}}


def model_config(model: TrainedModel, aliases: list[str], include: set[str] = frozenset()) -> dict[str, Any]:
    """A model as GET shows it; `model_aliases` joins the metadata when there are aliases."""
    body: dict[str, Any] = {
        "model_id": model.model_id,
        "model_type": model.model_type,
        "created_by": "api_user",
        "version": ML_CONFIG_VERSION,
        "create_time": model.create_time_ms,
        "model_size_bytes": model.model_bytes,
        "estimated_operations": 0,
        "license_level": "platinum",
    }
    if model.description:
        body["description"] = model.description
    body["tags"] = list(model.tags)
    metadata = dict(model.metadata)
    if aliases:
        metadata["model_aliases"] = aliases
    if metadata:
        body["metadata"] = metadata
    body["input"] = {"field_names": list(model.field_names)}
    body["inference_config"] = model.inference_config
    if model.is_pytorch:
        body["location"] = PYTORCH_LOCATION
    if "definition_status" in include:
        body["fully_defined"] = model.fully_defined
    return body


def parse_model_config(body: JsonBody, model_id: str) -> dict[str, Any]:
    """The PUT body's fields, type-checked; ES's messages for the shape problems."""
    body.check_known(PUT_FIELDS)
    given = body.str("model_id")
    if given is not None and given != model_id:
        raise validation_failed([
            f"Inconsistent model_id; '{given}' specified in the body differs from '{model_id}' specified as a "
            "URL argument"
        ])
    config: dict[str, Any] = {}
    for name in ("description", "model_type", "compressed_definition"):
        if name in body:
            config[name] = body.str(name)
    if config.get("model_type") not in (None, *MODEL_TYPES):
        raise body.field_error("model_type")
    for name in ("metadata", "definition", "input", "location", "default_field_map", "prefix_strings"):
        if name in body:
            config[name] = body.object(name)
    metadata = config.get("metadata") or {}
    for name in MEMORY_METADATA:
        value = metadata.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise body.field_error("metadata")
    tags = body.list("tags")
    if tags is not None:
        if not all(isinstance(t, str) for t in tags):
            raise body.field_error("tags")
        config["tags"] = tags
    fields = (config.get("input") or {}).get("field_names", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise body.field_error("input")
    for name in ("model_size_bytes", "estimated_operations"):
        value = body.int(name)
        if value is not None:
            if value < 0:
                raise body.field_error(name)
            config[name] = value
    inference_config = body.object("inference_config")
    if inference_config is not None:
        known = (*NLP_TASK_TYPES, *ANALYTICS_TASK_TYPES)
        if len(inference_config) != 1 or not all(
            k in known and isinstance(v, (dict, type(None))) for k, v in inference_config.items()
        ):
            raise body.field_error("inference_config")
        config["inference_config"] = {k: v or {} for k, v in inference_config.items()}
    if "model_type" not in config and "definition" not in config and "compressed_definition" not in config:
        raise validation_failed(["[model_type] must be set if [definition] is not defined."])
    return config


@routes.put(BASE + "/{model_id}")
async def put_model(request: web.Request) -> web.Response:
    Query(request, ("defer_definition_decompression", "wait_for_completion")).bool("wait_for_completion")
    model_id = request.match_info["model_id"]
    body = await read_body(request, "trained_model_config", required=True)
    cluster = cluster_of(request)
    model = cluster.models.put(model_id, parse_model_config(body, model_id))
    return render(request, model_config(model, []))


async def _get_models(request: web.Request, expression: str | None) -> web.Response:
    query = Query(request, ("allow_no_match", "include", "include_model_definition", "decompress_definition",
                            "from", "size", "tags", "exclude_generated"))
    include = {token for token in (query.str("include") or "").split(",") if token}
    unknown = sorted(include - set(INCLUDE_OPTIONS))
    if unknown:
        raise validation_failed([f"unknown [include] parameter [{unknown[0]}]; expected one of {list(INCLUDE_OPTIONS)}"])
    start, size = query.page()
    query.bool("decompress_definition", True)
    query.bool("exclude_generated")
    query.bool("include_model_definition")
    tags = [t for t in (query.str("tags") or "").split(",") if t]
    cluster = cluster_of(request)
    models = expand_models(cluster.state, expression, query.bool("allow_no_match", True), tags)
    page = models[start : start + size]
    configs = [model_config(m, cluster.state.aliases_of(m.model_id), include) for m in page]
    return render(request, {"count": len(models), "trained_model_configs": configs})


@routes.get(BASE)
async def get_all_models(request: web.Request) -> web.Response:
    return await _get_models(request, None)


@routes.get(BASE + "/{model_id}")
async def get_models(request: web.Request) -> web.Response:
    return await _get_models(request, request.match_info["model_id"])


@routes.delete(BASE + "/{model_id}")
async def delete_model(request: web.Request) -> web.Response:
    query = Query(request, ("timeout", "force"))
    query.time("timeout", 30.0)
    cluster_of(request).models.delete(request.match_info["model_id"], force=query.bool("force"))
    return acknowledged(request)


@routes.put(BASE + "/{model_id}/definition/{part}")
async def put_definition_part(request: web.Request) -> web.Response:
    Query(request)
    raw_part = request.match_info["part"]
    try:
        part = int(raw_part)
    except ValueError:
        raise validation_failed([f"[part] must be an integer, found [{raw_part}]"]) from None
    body = await read_body(request, "put_trained_model_definition_part_action", required=True)
    body.check_known(("definition", "total_definition_length", "total_parts"))
    if body.str("definition") is None:
        raise validation_failed(["[definition] must not be null"])
    cluster_of(request).models.put_definition_part(
        request.match_info["model_id"], part, body.int("total_parts") or 0, body.int("total_definition_length") or 0
    )
    return acknowledged(request)


@routes.put(BASE + "/{model_id}/vocabulary")
async def put_vocabulary(request: web.Request) -> web.Response:
    Query(request)
    body = await read_body(request, "put_trained_model_vocabulary_action", required=True)
    body.check_known(("vocabulary", "merges", "scores"))
    vocabulary = body.list("vocabulary")
    if not vocabulary or not all(isinstance(v, str) for v in vocabulary):
        raise validation_failed(["[vocabulary] must not be empty"])
    body.list("merges")
    body.list("scores")
    cluster_of(request).models.put_vocabulary(request.match_info["model_id"], vocabulary)
    return acknowledged(request)
