"""The aiohttp application serving the simulated cluster in Elasticsearch's REST dialect."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator, Callable, Sequence

from aiohttp import web

from cluster.cluster import Cluster

from . import (
    es_aliases, es_autoscaling, es_bulk, es_cat, es_cat_nodes, es_deployments, es_features, es_health, es_infer,
    es_inference_api, es_info, es_models, es_nodes, es_pipelines, es_root, es_stats,
    os_connectors, os_controllers, os_deploy, os_indices, os_model_groups, os_models, os_predict, os_profile,
    os_settings, os_tasks, os_train, os_update, sim_rebalances, sim_routes,
)
from .context import CLUSTER
from .middleware import es_dialect
from .request_body import DEFAULT_MAX_CONTENT_LENGTH, MAX_CONTENT_LENGTH, allow_nesting
from .ui import routes as ui_routes


#: Adds middlewares, routes or startup work to the app (security, the request recorder).
Extension = Callable[[web.Application], None]


def create_app(
    cluster: Cluster,
    extensions: Sequence[Extension] = (),
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
) -> web.Application:
    allow_nesting()
    # Bodies are decompressed by `api.request_body` (a bad one is a 400, not a dropped connection).
    app = web.Application(
        middlewares=[es_dialect],
        client_max_size=max_content_length + 1,
        handler_args={"auto_decompress": False},
    )
    app[CLUSTER] = cluster
    app[MAX_CONTENT_LENGTH] = max_content_length
    # `_infer` first: aiohttp tries a prefix's patterns in registration order and no other
    # route matches its paths, so the hottest request skips a dozen misses. Then static paths
    # (`_stats`) before the `{model_id}` patterns they would otherwise match.
    for module in (es_infer, es_root, es_stats, es_models, es_aliases, es_deployments, es_cat, es_pipelines):
        app.add_routes(module.routes)
    # Around ML nodes: info, memory, nodes, health, cat nodes; `_bulk` for both dialects; the inference API;
    # feature states (before OpenSearch's `/{index}` patterns, which `/_features` would match).
    for module in (es_info, es_nodes, es_health, es_cat_nodes, es_bulk, es_inference_api, es_features):
        app.add_routes(module.routes)
    # OpenSearch's ml-commons; each module registers its static paths before its `{id}` ones.
    for module in (
        os_model_groups, os_connectors, os_models, os_deploy, os_update, os_predict, os_tasks, os_profile,
        os_controllers, os_settings, os_indices, os_train,
    ):
        app.add_routes(module.routes)
    app.add_routes(es_autoscaling.routes)
    sim_routes.add_routes(app)
    app.add_routes(ui_routes.routes)
    app.add_routes(sim_rebalances.routes)
    for extend in extensions:
        extend(app)
    if cluster.clock.mode == "realtime":
        app.cleanup_ctx.append(_drive_clock)
    return app


async def _drive_clock(app: web.Application) -> AsyncIterator[None]:
    """Run simulated time with the wall clock while the server is up."""
    task = asyncio.create_task(app[CLUSTER].clock.drive_realtime())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
