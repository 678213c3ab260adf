"""Cluster settings (`PUT|GET /_cluster/settings`), served once, in OpenSearch's form, for
the `plugins.ml_commons.*` settings the simulator knows."""

from __future__ import annotations

from typing import Any, Mapping

from aiohttp import web

from cluster.errors import validation_failed
from cluster.opensearch.xcontent import expecting
from cluster.opensearch.settings import SCOPES, Raw, nest, node_defaults, update_cluster_settings

from .body import body_required
from .os_bodies import ml_commons, parse_json
from .request_body import read_text
from .params import Query
from .responses import render

routes = web.RouteTableDef()

_MASTER_PARAMS = ("master_timeout", "cluster_manager_timeout")


@routes.put("/_cluster/settings")
async def put_cluster_settings(request: web.Request) -> web.Response:
    query = Query(request, ("flat_settings", "timeout", *_MASTER_PARAMS))
    source = await _read_source(request)
    scopes: dict[str, Mapping[str, Any]] = {}
    for scope in SCOPES:
        value = source.get(scope)
        if value is not None and not isinstance(value, dict):
            raise expecting("START_OBJECT", value)
        scopes[scope] = value or {}
    if not any(scopes.values()):
        raise validation_failed(["no settings to update"])
    settings = ml_commons(request).settings
    applied = update_cluster_settings(settings, scopes["persistent"], scopes["transient"])
    flat = query.bool("flat_settings")
    body = {"acknowledged": True, **{scope: _shape(applied[scope], flat) for scope in SCOPES}}
    return render(request, body)


@routes.get("/_cluster/settings")
async def get_cluster_settings(request: web.Request) -> web.Response:
    query = Query(request, ("flat_settings", "include_defaults", "local", *_MASTER_PARAMS))
    settings = ml_commons(request).settings
    flat = query.bool("flat_settings")
    overrides = settings.cluster_overrides
    body = {scope: _shape(overrides.scope(scope), flat) for scope in SCOPES}
    if query.bool("include_defaults"):
        body["defaults"] = _shape(node_defaults(settings), flat)
    return render(request, body)


async def _read_source(request: web.Request) -> dict[str, Any]:
    """The body as a map (a JSON value other than an object reads as no settings)."""
    text = await read_text(request)
    if not text.strip():
        raise body_required()
    data = parse_json(text)
    return data if isinstance(data, dict) else {}


def _shape(flat_values: Mapping[str, Raw], flat: bool) -> dict[str, Any]:
    return dict(sorted(flat_values.items())) if flat else nest(flat_values)
