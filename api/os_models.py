"""OpenSearch dialect: model register, get, search and delete (`/_plugins/_ml/models/...`).

Deploy, undeploy, update and predict on `/models/{id}` live in their own modules.
"""

from __future__ import annotations

from aiohttp import web

from cluster.opensearch import chunk_upload

from .body import body_required
from .os_bodies import SOURCE_PARAMS, ml_commons, read_ml_object, search_body, write_status
from .params import Query
from .request_body import read_bytes
from .responses import render

routes = web.RouteTableDef()

BASE = "/_plugins/_ml/models"


@routes.post(BASE + "/_register")
@routes.post(BASE + "/_upload")
async def register_model(request: web.Request) -> web.Response:
    query = Query(request, ("deploy",))
    body, text = await read_ml_object(request)
    if body is None:
        raise body_required()
    return render(request, ml_commons(request).models.register(body, deploy=query.bool("deploy"), text=text))


@routes.post(BASE + "/_register_meta")
@routes.post(BASE + "/meta")
async def register_model_meta(request: web.Request) -> web.Response:
    """Step one of registering a model from a local file (`chunk_upload`)."""
    Query(request)
    ml = ml_commons(request)
    chunk_upload.require_local_file_upload(ml, chunk=False)
    body, text = await read_ml_object(request)
    return render(request, chunk_upload.register_meta(ml, body, text))


@routes.post(BASE + "/{model_id}/upload_chunk/{chunk_number}")
@routes.post(BASE + "/{model_id}/chunk/{chunk_number}")
async def upload_model_chunk(request: web.Request) -> web.Response:
    """One chunk of the file, sent as the raw body."""
    Query(request)
    content = await read_bytes(request)
    return render(request, chunk_upload.upload_chunk(ml_commons(request), request.match_info["model_id"],
                                                     request.match_info["chunk_number"], content))


@routes.get(BASE + "/_search")
@routes.post(BASE + "/_search")
async def search_models(request: web.Request) -> web.Response:
    Query(request, SOURCE_PARAMS)
    body = await search_body(request, required=True)
    return render(request, ml_commons(request).models.search(body))


@routes.get(BASE + "/{model_id}")
async def get_model(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).models.get(request.match_info["model_id"]))


@routes.delete(BASE + "/{model_id}")
async def delete_model(request: web.Request) -> web.Response:
    Query(request)
    response = ml_commons(request).models.delete(request.match_info["model_id"])
    return render(request, response, write_status(response))
