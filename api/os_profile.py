"""OpenSearch dialect: profile (`/_plugins/_ml/profile...`) and stats (`/_plugins/_ml/stats`,
`/_plugins/_ml/{nodeId}/stats`) endpoints."""

from __future__ import annotations

from aiohttp import web

from cluster.opensearch.profile import ProfileRequest, profile
from cluster.opensearch.stats_report import stats_report
from cluster.opensearch.xcontent import boolean, string_list

from .os_bodies import ml_commons, read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()


@routes.get("/_plugins/_ml/profile")
@routes.get("/_plugins/_ml/profile/models")
@routes.get("/_plugins/_ml/profile/models/{model_id}")
@routes.get("/_plugins/_ml/profile/tasks")
@routes.get("/_plugins/_ml/profile/tasks/{task_id}")
async def get_profile(request: web.Request) -> web.Response:
    """A body (`model_ids`, `task_ids`, `node_ids`, `return_all_models`, `return_all_tasks`)
    decides alone; without one the path does. `?view=node` (default) or `model`."""
    view = Query(request, ("view",)).str("view", "node")
    body, _ = await read_ml_object(request)
    wanted = _from_body(body) if body is not None else _from_path(request)
    return render(request, profile(ml_commons(request), wanted, view))


def _from_body(data: dict) -> ProfileRequest:
    return ProfileRequest(
        model_ids=set(string_list(data, "model_ids") or ()),
        task_ids=set(string_list(data, "task_ids") or ()),
        node_ids=set(string_list(data, "node_ids") or ()),
        return_all_models=bool(boolean(data, "return_all_models")),
        return_all_tasks=bool(boolean(data, "return_all_tasks")),
    )


def _from_path(request: web.Request) -> ProfileRequest:
    """ml-commons looks for "models" / "tasks" anywhere in the URI; ids are comma-separated."""
    uri = request.path_qs
    wanted = ProfileRequest()
    model_ids, task_ids = request.match_info.get("model_id"), request.match_info.get("task_id")
    if model_ids is not None:
        wanted.model_ids.update(i for i in model_ids.split(",") if i)
    elif "models" in uri:
        wanted.return_all_models = True
    if task_ids is not None:
        wanted.task_ids.update(i for i in task_ids.split(",") if i)
    elif "tasks" in uri:
        wanted.return_all_tasks = True
    if "models" not in uri and "tasks" not in uri:
        wanted.return_all_models = wanted.return_all_tasks = True
    return wanted


@routes.get("/_plugins/_ml/stats")
@routes.get("/_plugins/_ml/stats/")
@routes.get("/_plugins/_ml/stats/{stat}")
@routes.get("/_plugins/_ml/{node_id}/stats")
@routes.get("/_plugins/_ml/{node_id}/stats/")
@routes.get("/_plugins/_ml/{node_id}/stats/{stat}")
async def get_stats(request: web.Request) -> web.Response:
    """Comma-separated node ids (or names) and stat names; ml-commons registers the paths
    with a trailing slash too (`{nodeId}/stats/`)."""
    Query(request)
    node_ids, stats = request.match_info.get("node_id"), request.match_info.get("stat")
    body = stats_report(
        ml_commons(request),
        [n for n in node_ids.split(",") if n] if node_ids is not None else None,
        [s for s in stats.split(",") if s] if stats is not None else None,
    )
    return render(request, body)
