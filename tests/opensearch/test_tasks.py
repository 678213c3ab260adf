"""The ml-commons task APIs: get, delete, search."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, NotFoundError

from cluster.cluster import Cluster

from .ml_helpers import MINILM, error_of, raw_error

ML = "/_plugins/_ml"
REGISTER = {"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}


async def test_get_task_shape(client: AsyncOpenSearch, cluster: Cluster) -> None:
    cluster.advance(1)
    task_id = (await client.plugins.ml.register_model(body=REGISTER))["task_id"]
    task = await client.plugins.ml.get_task(task_id=task_id)
    now = cluster.clock.millis()
    assert task == {"task_type": "REGISTER_MODEL", "function_name": "TEXT_EMBEDDING", "state": "RUNNING",
                    "worker_node": task["worker_node"], "create_time": now, "last_update_time": now,
                    "is_async": True}
    assert task["worker_node"][0] in cluster.state.nodes


async def test_missing_task(client: AsyncOpenSearch, http: TestClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_task(task_id="nope")
    assert error_of(caught.value) == (404, "status_exception", "Failed to find task")
    response = await http.delete(f"{ML}/tasks/nope")
    assert await raw_error(response) == (404, "status_exception", "Failed to find task")


async def test_delete_waits_for_the_task_to_finish(client: AsyncOpenSearch, cluster: Cluster,
                                                   http: TestClient) -> None:
    task_id = (await client.plugins.ml.register_model(body=REGISTER))["task_id"]
    response = await http.delete(f"{ML}/tasks/{task_id}")
    assert await raw_error(response) == (  # 500 in OpenSearch: a deviation
        400, "exception", "Task cannot be deleted in running state. Try after some time.")
    assert cluster.ml_commons.tasks.get(task_id)["state"] == "RUNNING"
    cluster.advance(5)
    deleted = await client.plugins.ml.delete_task(task_id=task_id)
    assert (deleted["_index"], deleted["_id"], deleted["result"]) == (".plugins-ml-task", task_id, "deleted")
    with pytest.raises(NotFoundError):
        await client.plugins.ml.get_task(task_id=task_id)


async def test_search_tasks(client: AsyncOpenSearch, cluster: Cluster) -> None:
    done = (await client.plugins.ml.register_model(body=REGISTER))["task_id"]
    cluster.advance(5)
    running = (await client.plugins.ml.register_model(body=REGISTER))["task_id"]
    found = await client.plugins.ml.search_tasks(body={"query": {"bool": {"filter": [
        {"term": {"task_type": "REGISTER_MODEL"}}, {"term": {"state": "COMPLETED"}}]}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [done]
    assert found["hits"]["hits"][0]["_version"] == 3  # created, running, completed
    newest = await client.plugins.ml.search_tasks(
        body={"query": {"match_all": {}}, "sort": [{"create_time": {"order": "desc"}}], "size": 1})
    assert [hit["_id"] for hit in newest["hits"]["hits"]] == [running]
    assert newest["hits"]["total"]["value"] == 2
