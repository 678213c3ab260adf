"""The controller API (`/_plugins/_ml/controllers/{model_id}`): user-level rate limits per
model, stored in `.plugins-ml-controller`, with ml-commons' answers and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import CONTROLLER_INDEX, MODEL_INDEX

from .deploy_support import serve

BODY = {"user_rate_limiter": {"user1": {"limit": 3, "unit": "MINUTES"}}}
PATH = "/_plugins/_ml/controllers/{}"


def put_model(cluster: Cluster, model_id: str = "m1", **fields: Any) -> None:
    doc = {"name": "m", "algorithm": "REMOTE", "model_state": "REGISTERED", "is_enabled": True, **fields}
    cluster.ml_commons.store[MODEL_INDEX].index(model_id, doc)


def error(status: int, error_type: str, reason: str) -> dict[str, Any]:
    cause = {"type": error_type, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


async def test_create_get_update_delete_through_the_client(cluster: Cluster, client: AsyncOpenSearch) -> None:
    put_model(cluster)
    ml = client.plugins.ml
    assert await ml.create_controller(model_id="m1", body=BODY) == {"model_id": "m1", "status": "CREATED"}
    assert cluster.ml_commons.store[MODEL_INDEX].get("m1")["is_controller_enabled"] is True
    assert await ml.get_controller(model_id="m1") == {
        "model_id": "m1", "user_rate_limiter": {"user1": {"limit": "3", "unit": "MINUTES"}},
    }
    updated = await ml.update_controller(
        model_id="m1", body={"user_rate_limiter": {"user1": {"unit": "HOURS"}, "user2": {"limit": "1", "unit": "SECONDS"}}}
    )
    assert updated == {
        "_index": ".plugins-ml-controller", "_id": "m1", "_version": 2, "result": "updated", "forced_refresh": True,
        "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 1, "_primary_term": 1,
    }
    assert (await ml.get_controller(model_id="m1"))["user_rate_limiter"] == {
        "user1": {"limit": "3", "unit": "HOURS"}, "user2": {"limit": "1", "unit": "SECONDS"},
    }
    deleted = await ml.delete_controller(model_id="m1")
    assert (deleted["_index"], deleted["result"]) == (".plugins-ml-controller", "deleted")
    assert cluster.ml_commons.store[MODEL_INDEX].get("m1")["is_controller_enabled"] is False
    assert cluster.ml_commons.store[CONTROLLER_INDEX].get("m1") is None


async def test_creating_again_replaces_and_says_updated(cluster: Cluster, client: AsyncOpenSearch) -> None:
    put_model(cluster)
    await client.plugins.ml.create_controller(model_id="m1", body=BODY)
    again = await client.plugins.ml.create_controller(
        model_id="m1", body={"model_id": "ignored", "user_rate_limiter": {"user9": {"limit": "1", "unit": "DAYS"}, "empty": {}}}
    )
    assert again == {"model_id": "m1", "status": "UPDATED"}
    assert cluster.ml_commons.store[CONTROLLER_INDEX].get("m1") == {
        "model_id": "m1", "user_rate_limiter": {"user9": {"limit": "1", "unit": "DAYS"}},
    }


async def test_a_deployed_models_controller_reaches_its_nodes(cluster: Cluster, client: AsyncOpenSearch) -> None:
    put_model(cluster, model_state="DEPLOYED")
    node = sorted(cluster.state.nodes)[0]
    serve(cluster, "m1", [node])
    await client.plugins.ml.create_controller(
        model_id="m1", body={"user_rate_limiter": {"user1": {"limit": 1, "unit": "HOURS"}}}
    )
    limits = cluster.ml_commons.rate_limits
    limits.check("m1", node, "user1")
    with pytest.raises(MlError):
        limits.check("m1", node, "user1")
    await client.plugins.ml.update_controller(model_id="m1", body={"user_rate_limiter": {"user1": {"limit": 2}}})
    limits.check("m1", node, "user1")  # redeployed: a new, full bucket of 2
    limits.check("m1", node, "user1")
    await client.plugins.ml.delete_controller(model_id="m1")
    limits.check("m1", node, "user1")  # no controller: no user-level limit


async def test_deleting_the_model_deletes_its_controller_and_buckets(cluster: Cluster, client: AsyncOpenSearch,
                                                                     http: TestClient) -> None:
    put_model(cluster, rate_limiter={"limit": "5", "unit": "HOURS"})
    await client.plugins.ml.create_controller(model_id="m1", body=BODY)
    node = sorted(cluster.state.nodes)[0]
    cluster.ml_commons.rate_limits.check("m1", node, "user1")  # the node built both buckets
    await client.plugins.ml.delete_model(model_id="m1")
    assert cluster.ml_commons.store[CONTROLLER_INDEX].get("m1") is None
    assert [key for key in cluster.ml_commons.rate_limits._buckets if key[0] == "m1"] == []
    response = await http.get(PATH.format("m1"))
    assert (await response.json())["error"]["reason"] == "Failed to find model controller with the provided model ID"


async def test_deleting_a_missing_model_still_removes_its_controller(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.store[CONTROLLER_INDEX].index("gone", {"model_id": "gone", "user_rate_limiter": {}})
    response = await http.delete("/_plugins/_ml/models/gone")
    assert (response.status, await response.json()) == (404, error(404, "status_exception", "Failed to find model"))
    assert cluster.ml_commons.store[CONTROLLER_INDEX].get("gone") is None


@pytest.mark.parametrize(
    "method, model_id, body, status, error_type, reason",
    [
        ("POST", "m1", "", 400, "parse_exception", "Create model controller request has empty body"),
        ("PUT", "m1", "", 400, "parse_exception", "Update model controller request has empty body"),
        ("POST", "nope", '{"user_rate_limiter": {}}', 404, "status_exception",
         "Failed to find model to create the corresponding model controller with the provided model ID"),
        ("PUT", "nope", '{"user_rate_limiter": {}}', 404, "status_exception",
         "Failed to find model to create the corresponding model controller with the provided model ID"),
        ("POST", "kmeans", '{"user_rate_limiter": {}}', 403, "status_exception",
         "Creating model controller on this operation on the function category KMEANS is not supported."),
        ("POST", "deploying", '{"user_rate_limiter": {}}', 409, "status_exception",
         "Creating a model controller during its corresponding model in DEPLOYING state is not allowed, please either "
         "create the model controller after it is deployed or before deploying it. Model ID: deploying"),
        ("PUT", "m1", '{"user_rate_limiter": {}}', 409, "status_exception",
         "Model controller haven't been created for the model. Consider calling create model controller api instead. "
         "Model ID: m1"),
        ("GET", "m1", None, 404, "status_exception", "Failed to find model controller with the provided model ID"),
        # no controller was ever written: ml-commons' get of the controller meets no index
        ("DELETE", "m1", None, 404, "index_not_found_exception", "no such index [.plugins-ml-controller]"),
        ("POST", "m1", '{"user_rate_limiter": {"u": {"limit": "-1", "unit": "SECONDS"}}}', 400, "parse_exception",
         "Limit field must be a positive number."),
        ("POST", "m1", '{"user_rate_limiter": {"u": {"unit": "FORTNIGHTS"}}}', 400, "illegal_argument_exception",
         "No enum constant java.util.concurrent.TimeUnit.FORTNIGHTS"),
        ("POST", "m1", '{"user_rate_limiter": {"u": 5}}', 400, "parsing_exception",
         "Failed to parse object: expecting token of type [START_OBJECT] but found [VALUE_NUMBER]"),
    ],
)
async def test_refusals(
    cluster: Cluster, http: TestClient, method: str, model_id: str, body: str | None, status: int, error_type: str,
    reason: str,
) -> None:
    put_model(cluster)
    put_model(cluster, "kmeans", algorithm="KMEANS")
    put_model(cluster, "deploying", model_state="DEPLOYING")
    response = await http.request(method, PATH.format(model_id), data=body, headers={"Content-Type": "application/json"})
    assert (response.status, await response.json()) == (status, error(status, error_type, reason))
    assert cluster.ml_commons.store[CONTROLLER_INDEX].docs == {}


async def test_delete_of_a_missing_controller_once_the_index_exists(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.store[CONTROLLER_INDEX].index("other", {"model_id": "other", "user_rate_limiter": {}})
    response = await http.delete(PATH.format("m1"))
    assert (response.status, await response.json()) == (404, error(404, "status_exception",
                                                                   "Failed to find model controller"))


async def test_get_needs_the_model_and_delete_does_not(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.store[CONTROLLER_INDEX].index("gone", {"model_id": "gone", "user_rate_limiter": {}})
    response = await http.get(PATH.format("gone"))
    assert (response.status, await response.json()) == (404, error(
        404, "status_exception",
        "Failed to find model to get the corresponding model controller with the provided model ID",
    ))
    response = await http.delete(PATH.format("gone"))
    assert response.status == 200 and (await response.json())["result"] == "deleted"


async def test_disabled_controller_api(cluster: Cluster, http: TestClient) -> None:
    put_model(cluster)
    cluster.ml_commons.settings.controller_enabled = False
    response = await http.post(PATH.format("m1"), json=BODY)
    assert (response.status, await response.json()) == (400, error(  # 500 in OpenSearch: a deviation
        400, "illegal_state_exception",
        'Controller is currently disabled. To enable it, update the setting "plugins.ml_commons.controller_enabled" '
        "to true.",
    ))
