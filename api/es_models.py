"""Trained model configs: put, get, delete, definition parts and vocabularies.

The PUT body is parsed by `es_model_bodies` (ES's parse and request-validation errors);
what a valid body may mean (ids, duplicates, definitions, references) is the cluster's to
decide. GET renders a model with the fields, includes and exclusions ES applies.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.definition_codec import compress, decompress
from cluster.errors import status_error, validation_failed
from cluster.model_queries import expand_models
from cluster.models import TrainedModel
from cluster.node_info import ML_CONFIG_VERSION

from .body import read_body
from .context import cluster_of
from .es_model_bodies import parse_model_config
from .params import Query
from .responses import acknowledged, render

routes = web.RouteTableDef()

BASE = "/_ml/trained_models"
INCLUDE_OPTIONS = ("definition", "total_feature_importance", "feature_importance_baseline", "hyperparameters",
                   "definition_status")
#: What `exclude_generated` leaves out: the fields the cluster, not the user, set.
GENERATED_FIELDS = ("created_by", "version", "create_time", "model_size_bytes", "estimated_operations",
                    "license_level")
PYTORCH_LOCATION = {"index": {"name": ".ml-inference-native-000002"}}


def model_config(
    model: TrainedModel,
    aliases: list[str],
    include: set[str] = frozenset(),
    decompress_definition: bool = True,
    exclude_generated: bool = False,
) -> dict[str, Any]:
    """A model as GET shows it; `model_aliases` joins the metadata when there are aliases."""
    body: dict[str, Any] = {
        "model_id": model.model_id,
        "model_type": model.model_type,
        "created_by": model.created_by,
        "version": model.version or ML_CONFIG_VERSION,
        "create_time": model.create_time_ms,
        "model_size_bytes": model.model_bytes,
        "estimated_operations": model.estimated_operations,
        "license_level": model.license_level,
    }
    if exclude_generated:
        body = {k: v for k, v in body.items() if k not in GENERATED_FIELDS}
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
    if model.platform_architecture:
        body["platform_architecture"] = model.platform_architecture
    if model.prefix_strings:
        body["prefix_strings"] = model.prefix_strings
    if "definition" in include:
        body.update(_definition_fields(model, decompress_definition))
    if "definition_status" in include:
        body["fully_defined"] = model.fully_defined
    return body


def _definition_fields(model: TrainedModel, decompressed: bool) -> dict[str, Any]:
    """`definition` (decompressed) or `compressed_definition`, for models stored inline."""
    if model.definition_doc is not None:
        return {"definition": model.definition_doc} if decompressed else {
            "compressed_definition": model.compressed_definition or compress(model.definition_doc)}
    if model.compressed_definition is None:
        return {}
    if not decompressed:
        return {"compressed_definition": model.compressed_definition}
    try:
        return {"definition": decompress(model.compressed_definition)}
    except ValueError:
        raise status_error(400, f"Failed to parse definition for [{model.model_id}]") from None


def _check_includes(include: set[str], page: list[TrainedModel]) -> None:
    """ES answers a definition or its download status for one model at a time."""
    if "definition" in include and len(page) > 1:
        raise status_error(400, "Getting model definition is not supported when getting more than one model")
    if "definition_status" in include and len(page) > 1:
        raise status_error(400, "Getting the model download status is not supported when getting more than one model")
    if "definition_status" in include and page and not page[0].is_pytorch:
        raise status_error(400, "Definition status is only relevant to PyTorch model types")


@routes.put(BASE + "/{model_id}")
async def put_model(request: web.Request) -> web.Response:
    query = Query(request, ("defer_definition_decompression", "wait_for_completion", "timeout"))
    wait = query.bool("wait_for_completion")
    defer = query.bool("defer_definition_decompression")
    timeout = query.time("timeout", 30.0)
    model_id = request.match_info["model_id"]
    body = await read_body(request, "trained_model_config", required=True)
    cluster = cluster_of(request)
    model = cluster.models.put(model_id, parse_model_config(body, model_id, defer))
    if wait and model.downloading:
        await cluster.clock.wait_until(lambda: not model.downloading, timeout)
        if model.downloading:
            raise status_error(408, "Timed out waiting for model download to complete")
    return render(request, model_config(model, []))


async def _get_models(request: web.Request, expression: str | None) -> web.Response:
    query = Query(request, ("allow_no_match", "include", "include_model_definition", "decompress_definition",
                            "from", "size", "tags", "exclude_generated"))
    include = {token for token in (query.str("include") or "").split(",") if token}
    unknown = sorted(include - set(INCLUDE_OPTIONS))
    if unknown:
        raise validation_failed([f"unknown [include] parameter [{unknown[0]}]; expected one of {list(INCLUDE_OPTIONS)}"])
    start, size = query.page()
    decompressed = query.bool("decompress_definition", True)
    excluded = query.bool("exclude_generated")
    if query.bool("include_model_definition"):
        include.add("definition")
    tags = [t for t in (query.str("tags") or "").split(",") if t]
    cluster = cluster_of(request)
    models = expand_models(cluster.state, expression, query.bool("allow_no_match", True), tags)
    page = models[start : start + size]
    _check_includes(include, page)
    configs = [model_config(m, cluster.state.aliases_of(m.model_id), include, decompressed, excluded) for m in page]
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
