"""Where ml-commons work goes: eligible nodes by function and role, and the one task
dispatcher's policies (round robin, least load, anything else refused) for register tasks
and predict requests alike."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, RequestError

from cluster.cluster import Cluster
from cluster.opensearch.dispatcher import NO_ELIGIBLE_NODE
from cluster.opensearch.documents import MODEL_INDEX, TASK_INDEX

from .deploy_support import local_model, remote_model
from .ml_helpers import MINILM, MINILM_BYTES, error_of, raw_error
from .test_guardrails import add_judge, model_guard
from .test_predict import add_remote, predict, predict_counts

ML = "/_plugins/_ml"
SETTING = "plugins.ml_commons."
REGISTER = {"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
DOWNLOAD_SECONDS = MINILM_BYTES / 100_000_000


async def put_settings(client: AsyncOpenSearch, **values: Any) -> None:
    await client.cluster.put_settings(body={"transient": {SETTING + key: value for key, value in values.items()}})


def names(cluster: Cluster, node_ids: list[str]) -> list[str]:
    return [cluster.state.nodes[n].name for n in node_ids]


async def register_node(client: AsyncOpenSearch, cluster: Cluster) -> str:
    """The name of the node the register task was dispatched to."""
    task_id = (await client.plugins.ml.register_model(body=REGISTER))["task_id"]
    [node] = names(cluster, (await client.plugins.ml.get_task(task_id=task_id))["worker_node"])
    return node


async def test_round_robin_register_dispatch_skips_excluded_nodes(client: AsyncOpenSearch, cluster: Cluster) -> None:
    assert [await register_node(client, cluster) for _ in range(3)] == ["ml-1", "ml-2", "ml-1"]
    await put_settings(client, **{"exclude_nodes._name": "ml-1"})
    assert [await register_node(client, cluster) for _ in range(2)] == ["ml-2", "ml-2"]


async def test_least_load_picks_the_node_with_fewest_executing_tasks(client: AsyncOpenSearch,
                                                                     cluster: Cluster) -> None:
    await put_settings(client, task_dispatch_policy="least_load")
    assert [await register_node(client, cluster) for _ in range(3)] == ["ml-1", "ml-2", "ml-1"]
    stats = await client.plugins.ml.get_stats(stat="ml_executing_task_count")  # downloads count as tasks
    executing = {cluster.state.nodes[node].name: body["ml_executing_task_count"] for node, body in stats["nodes"].items()}
    assert executing == {"ml-1": 2, "ml-2": 1}
    cluster.advance(DOWNLOAD_SECONDS)
    # Idle again: the first node wins the tie where round robin would go on to the next.
    assert [await register_node(client, cluster) for _ in range(2)] == ["ml-1", "ml-2"]


async def test_an_unknown_policy_refuses_dispatch(client: AsyncOpenSearch, http: TestClient, cluster: Cluster) -> None:
    await put_settings(client, task_dispatch_policy="random")
    response = await http.post(f"{ML}/models/_register", json=REGISTER)
    assert await raw_error(response) == (400, "illegal_argument_exception", "Unknown policy")
    assert not cluster.ml_commons.store[TASK_INDEX].docs and not cluster.ml_commons.store[MODEL_INDEX].docs


@pytest.mark.parametrize(("settings", "remote_nodes", "local_nodes"), [
    ({}, ["ml-1", "ml-2"], ["ml-1", "ml-2"]),
    ({"task_dispatcher.eligible_node_role.remote_model": ["data"]}, [], ["ml-1", "ml-2"]),
    ({"task_dispatcher.eligible_node_role.local_model": ["data"]}, ["ml-1", "ml-2"], ["ml-1", "ml-2"]),
    ({"only_run_on_ml_node": False, "task_dispatcher.eligible_node_role.local_model": ["data"]},
     ["ml-1", "ml-2"], []),
    ({"only_run_on_ml_node": False, "task_dispatcher.eligible_node_role.local_model": ["ml"]},
     ["ml-1", "ml-2"], ["ml-1", "ml-2"]),
    ({"exclude_nodes._name": "ml-2"}, ["ml-1"], ["ml-1"]),
])
async def test_eligible_nodes_follow_function_and_roles(client: AsyncOpenSearch, cluster: Cluster, settings: dict,
                                                        remote_nodes: list[str], local_nodes: list[str]) -> None:
    """Simulated nodes are dedicated ML nodes: "data" matches none of them."""
    if settings:
        await put_settings(client, **settings)
    remote_model(cluster, "r1")
    local_model(cluster, "l1")
    for model_id, nodes in (("r1", remote_nodes), ("l1", local_nodes)):
        if nodes:
            await client.plugins.ml.deploy_model(model_id=model_id)
            planned = cluster.ml_commons.store[MODEL_INDEX].get(model_id)["planning_worker_nodes"]
            assert names(cluster, planned) == nodes
        else:
            with pytest.raises(RequestError) as caught:
                await client.plugins.ml.deploy_model(model_id=model_id)
            assert error_of(caught.value) == (400, "illegal_argument_exception", "no eligible node found")


async def test_no_eligible_node_for_a_register(http: TestClient, client: AsyncOpenSearch) -> None:
    await put_settings(client, only_run_on_ml_node=False, **{"task_dispatcher.eligible_node_role.local_model": ["data"]})
    response = await http.post(f"{ML}/models/_register", json=REGISTER)
    assert await raw_error(response) == (400, "illegal_argument_exception", NO_ELIGIBLE_NODE)


# -- predict requests ---------------------------------------------------------------------

PROMPT = {"parameters": {"prompt": "x", "question": "q"}}


def predicts_per_node(cluster: Cluster, model_id: str) -> tuple[int, int]:
    return predict_counts(cluster, "ml-1", model_id)[0], predict_counts(cluster, "ml-2", model_id)[0]


async def test_predict_round_robin_shares_the_register_counter(client: AsyncOpenSearch, http: TestClient,
                                                             cluster: Cluster) -> None:
    add_remote(cluster)
    assert await register_node(client, cluster) == "ml-1"  # the one counter moves on
    seen = []
    for _ in range(3):
        await predict(http, "remote-1", PROMPT)
        seen.append(predicts_per_node(cluster, "remote-1"))
    assert seen == [(0, 1), (1, 1), (1, 2)]
    assert await register_node(client, cluster) == "ml-1"  # past the end: ml-commons' wrap


async def test_least_load_predict_avoids_a_node_busy_with_a_register(client: AsyncOpenSearch, http: TestClient,
                                                                    cluster: Cluster) -> None:
    await put_settings(client, task_dispatch_policy="least_load")
    add_remote(cluster)
    assert await register_node(client, cluster) == "ml-1"  # downloading there
    for _ in range(2):
        await predict(http, "remote-1", PROMPT)
    assert predicts_per_node(cluster, "remote-1") == (0, 2)
    cluster.advance(DOWNLOAD_SECONDS)
    await predict(http, "remote-1", PROMPT)
    assert predicts_per_node(cluster, "remote-1") == (1, 2)  # idle again: the first node wins the tie


async def test_least_load_counts_predicts_in_flight(client: AsyncOpenSearch, http: TestClient,
                                                    cluster: Cluster) -> None:
    """The guardrail model is asked while the guarded request runs on the first node, so it
    is served by the other one; round robin would have alternated."""
    await put_settings(client, task_dispatch_policy="least_load")
    add_judge(cluster)
    add_remote(cluster, guardrails=model_guard())
    status, _ = await predict(http, "remote-1", PROMPT)
    assert status == 200
    assert predicts_per_node(cluster, "remote-1") == (1, 0)
    assert predicts_per_node(cluster, "judge") == (0, 2)  # input and output guardrail
    assert cluster.ml_commons.stats.executing_task_count(cluster.node_id("ml-1")) == 0


async def test_an_unknown_policy_refuses_predict(client: AsyncOpenSearch, http: TestClient, cluster: Cluster) -> None:
    add_remote(cluster)
    await put_settings(client, task_dispatch_policy="random")
    status, body = await predict(http, "remote-1", PROMPT)
    assert (status, body["error"]["type"], body["error"]["reason"]) == (400, "illegal_argument_exception",
                                                                          "Unknown policy")
    assert predicts_per_node(cluster, "remote-1") == (0, 0)
