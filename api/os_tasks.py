"""OpenSearch dialect: ml-commons tasks (`/_plugins/_ml/tasks/...`).

Tasks are documents in `.plugins-ml-task` (cluster/opensearch/tasks.py keeps them); this
module reads, deletes and searches them as ml-commons' task APIs do.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.opensearch.documents import TASK_INDEX
from cluster.opensearch.errors import caller_error, os_status
from cluster.opensearch.query_dsl import FieldMapping
from cluster.opensearch.search import parse_request, run_search
from cluster.opensearch.service import MlCommons

from .os_bodies import SOURCE_PARAMS, ml_commons, search_body
from .params import Query
from .responses import render

routes = web.RouteTableDef()

BASE = "/_plugins/_ml/tasks"
#: `error` is the only analysed text field of the task index mapping.
TEXT_FIELDS = FieldMapping(frozenset({"error"}))


@routes.get(BASE + "/_search")
@routes.post(BASE + "/_search")
async def search_tasks(request: web.Request) -> web.Response:
    Query(request, SOURCE_PARAMS)
    body = await search_body(request, required=True)
    index = ml_commons(request).store[TASK_INDEX]
    return render(request, run_search(index, parse_request(body, TEXT_FIELDS, versions=True)))


def task_or_404(ml: MlCommons, task_id: str) -> dict[str, Any]:
    task = ml.tasks.get(task_id)
    if task is None:
        raise os_status(404, "Failed to find task")
    return task


@routes.get(BASE + "/{task_id}")
async def get_task(request: web.Request) -> web.Response:
    """A remote batch-predict task asks its job's status first (`BatchJobs.refresh`)."""
    Query(request)
    ml = ml_commons(request)
    task_id = request.match_info["task_id"]
    return render(request, await ml.batch_jobs.refresh(task_id, task_or_404(ml, task_id)))


@routes.post(BASE + "/{task_id}/_cancel")
async def cancel_batch_job(request: web.Request) -> web.Response:
    Query(request)
    return render(request, await ml_commons(request).batch_jobs.cancel(request.match_info["task_id"]))


@routes.delete(BASE + "/{task_id}")
async def delete_task(request: web.Request) -> web.Response:
    Query(request)
    ml = ml_commons(request)
    task_id = request.match_info["task_id"]
    if task_or_404(ml, task_id)["state"] == "RUNNING":
        raise caller_error("exception", "Task cannot be deleted in running state. Try after some time.")
    return render(request, ml.store[TASK_INDEX].delete(task_id))
