"""OpenSearch dialect: deploy and undeploy (`/_plugins/_ml/models/...`), legacy `_load` /
`_unload` included. Static paths come before the `{model_id}` ones."""

from __future__ import annotations

from aiohttp import web

from cluster.errors import illegal_argument
from cluster.opensearch.deployer import CUSTOM_PLAN_REFUSED
from cluster.opensearch.xcontent import string_list

from .os_bodies import ml_commons, read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()


@routes.post("/_plugins/_ml/models/_undeploy")
@routes.post("/_plugins/_ml/models/_unload")
async def undeploy_models(request: web.Request) -> web.Response:
    return await _undeploy(request, None)


@routes.post("/_plugins/_ml/models/{model_id}/_deploy")
@routes.post("/_plugins/_ml/models/{model_id}/_load")
async def deploy_model(request: web.Request) -> web.Response:
    """Optional body `{"node_ids": [..]}` (other fields are skipped, as ml-commons' parser does)."""
    Query(request)
    body, _ = await read_ml_object(request)
    node_ids = string_list(body, "node_ids") if body is not None else None
    return render(request, ml_commons(request).deployer.deploy(request.match_info["model_id"], node_ids))


@routes.post("/_plugins/_ml/models/{model_id}/_undeploy")
@routes.post("/_plugins/_ml/models/{model_id}/_unload")
async def undeploy_model(request: web.Request) -> web.Response:
    return await _undeploy(request, request.match_info["model_id"])


async def _undeploy(request: web.Request, model_id: str | None) -> web.Response:
    """Body `{"model_ids": [..], "node_ids": [..]}`: the body's models replace the path's;
    naming nodes needs `allow_custom_deployment_plan`."""
    Query(request)
    ml = ml_commons(request)
    model_ids = [model_id] if model_id is not None else None
    node_ids = None
    body, _ = await read_ml_object(request)
    if body is not None:
        nodes = string_list(body, "node_ids")
        models = string_list(body, "model_ids")
        if nodes:
            if not ml.settings.allow_custom_deployment_plan:
                raise illegal_argument(CUSTOM_PLAN_REFUSED)
            node_ids = nodes
        if models:
            model_ids = models
    return render(request, ml.deployer.undeploy(model_ids, node_ids))
