"""ml-commons' Memory Circuit Breaker (`jvm_heap_memory_threshold` against the heap stand-in
`ml_jvm_heap_usage`) at deploy, register and predict of local models, in the spirit of
ml-commons' RestMLMemoryCircuitBreakerIT: a low threshold refuses, 100 turns it off."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster

from .deploy_support import LOAD_SECONDS, local_model, model, remote_model, task
from .ml_helpers import MINILM
from .test_predict import add_remote, error_of, predict, predict_counts

MEMORY_OPEN = "Memory Circuit Breaker is open, please check your resources!"


async def threshold(client: AsyncOpenSearch, value: int) -> None:
    body = {"persistent": {"plugins.ml_commons.jvm_heap_memory_threshold": value}}
    assert (await client.cluster.put_settings(body=body))["acknowledged"] is True


async def deploy_and_load(client: AsyncOpenSearch, cluster: Cluster, model_id: str) -> dict:
    """Deploy through the API and let the load finish; the task as it ends."""
    task_id = (await client.plugins.ml.deploy_model(model_id=model_id))["task_id"]
    cluster.advance(LOAD_SECONDS)
    return task(cluster, task_id)


def trips(cluster: Cluster) -> list[int]:
    stats = cluster.ml_commons.stats
    return [stats.node_counter(node, "ml_circuit_breaker_trigger_count") for node in cluster.state.nodes]


async def test_a_low_threshold_fails_the_deploy_on_every_node_and_100_turns_it_off(
    cluster: Cluster, client: AsyncOpenSearch
) -> None:
    local_model(cluster, "first")
    assert (await deploy_and_load(client, cluster, "first"))["state"] == "COMPLETED"
    usage = await client.plugins.ml.get_stats(stat="ml_jvm_heap_usage")
    assert all(body["ml_jvm_heap_usage"] > 1 for body in usage["nodes"].values())

    await threshold(client, 1)
    local_model(cluster, "second")
    failed = await deploy_and_load(client, cluster, "second")
    assert failed["state"] == "FAILED"
    assert json.loads(failed["error"]) == {node: MEMORY_OPEN for node in cluster.state.nodes}
    assert model(cluster, "second")["model_state"] == "DEPLOY_FAILED"
    assert trips(cluster) == [1, 1]

    await threshold(client, 100)
    assert (await deploy_and_load(client, cluster, "second"))["state"] == "COMPLETED"
    assert model(cluster, "second")["model_state"] == "DEPLOYED"


async def test_an_idle_node_is_under_any_threshold(cluster: Cluster, client: AsyncOpenSearch) -> None:
    await threshold(client, 0)  # open only above the threshold: 0 % in use is not
    local_model(cluster, "m")
    assert (await deploy_and_load(client, cluster, "m"))["state"] == "COMPLETED"


async def test_the_memory_breaker_is_checked_before_the_native_one(cluster: Cluster, client: AsyncOpenSearch) -> None:
    local_model(cluster, "first")
    await deploy_and_load(client, cluster, "first")
    await threshold(client, 1)
    cluster.ml_commons.settings.native_memory_threshold = 0
    local_model(cluster, "second")
    failed = await deploy_and_load(client, cluster, "second")
    assert set(json.loads(failed["error"]).values()) == {MEMORY_OPEN}
    assert trips(cluster) == [1, 1]  # one breaker trips per check


async def test_remote_models_deploy_with_the_breaker_open(cluster: Cluster, client: AsyncOpenSearch) -> None:
    local_model(cluster, "first")
    await deploy_and_load(client, cluster, "first")
    await threshold(client, 1)
    remote_model(cluster, "r1")
    answer = await client.plugins.ml.deploy_model(model_id="r1")
    assert (answer["status"], task(cluster, answer["task_id"])["state"]) == ("COMPLETED", "COMPLETED")
    assert trips(cluster) == [0, 0]


async def test_register_fails_its_task_on_the_dispatched_node(cluster: Cluster, client: AsyncOpenSearch) -> None:
    local_model(cluster, "first")
    await deploy_and_load(client, cluster, "first")
    await threshold(client, 1)
    body = {"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
    task_id = (await client.plugins.ml.register_model(body=body))["task_id"]
    failed = task(cluster, task_id)
    assert (failed["state"], failed["error"]) == ("FAILED", MEMORY_OPEN)
    assert "model_id" not in failed
    assert trips(cluster) == [1, 0]  # round robin sent it to the first node

    await threshold(client, 100)
    task_id = (await client.plugins.ml.register_model(body=body))["task_id"]
    assert task(cluster, task_id)["state"] == "RUNNING"


async def test_local_predict_is_refused_on_the_worker(cluster: Cluster, client: AsyncOpenSearch,
                                                      http: TestClient) -> None:
    local_model(cluster, "embedder")
    await deploy_and_load(client, cluster, "embedder")
    add_remote(cluster)
    await threshold(client, 1)

    status, body = await predict(http, "embedder", {"text_docs": ["hello"]})
    assert (status, error_of(body)) == (429, ("circuit_breaking_exception", MEMORY_OPEN))
    assert predict_counts(cluster, "ml-1", "embedder") == (0, 0)  # refused before it ran
    assert trips(cluster) == [1, 0]
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert status == 200  # remote models skip the breakers

    await threshold(client, 100)
    status, _ = await predict(http, "embedder", {"text_docs": ["hello"]})
    assert status == 200
