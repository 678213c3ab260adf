"""The aiohttp application serving the simulated cluster in Elasticsearch's REST dialect."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from aiohttp import web

from cluster.cluster import Cluster

from . import (
    es_aliases, es_cat, es_deployments, es_infer, es_models, es_pipelines, es_root, es_stats,
    os_connectors, os_controllers, os_deploy, os_indices, os_model_groups, os_models, os_predict, os_profile,
    os_settings, os_tasks, os_update, sim_routes,
)
from .context import CLUSTER
from .middleware import es_dialect
from .request_body import DEFAULT_MAX_CONTENT_LENGTH, MAX_CONTENT_LENGTH, allow_nesting


def create_app(cluster: Cluster, max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> web.Application:
    allow_nesting()
    # Bodies are decompressed by `api.request_body` (a bad one is a 400, not a dropped connection).
    app = web.Application(
        middlewares=[es_dialect],
        client_max_size=max_content_length + 1,
        handler_args={"auto_decompress": False},
    )
    app[CLUSTER] = cluster
    app[MAX_CONTENT_LENGTH] = max_content_length
    # Static paths (`_stats`) before the `{model_id}` patterns they would otherwise match.
    for module in (es_root, es_stats, es_models, es_aliases, es_deployments, es_infer, es_cat, es_pipelines):
        app.add_routes(module.routes)
    # OpenSearch's ml-commons; each module registers its static paths before its `{id}` ones.
    for module in (
        os_model_groups, os_connectors, os_models, os_deploy, os_update, os_predict, os_tasks, os_profile,
        os_controllers, os_settings, os_indices,
    ):
        app.add_routes(module.routes)
    sim_routes.add_routes(app)
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
