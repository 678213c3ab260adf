"""Model groups end to end: register, get, update, delete, search, and version numbering."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError, RequestError

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import MODEL_GROUP_INDEX

from .ml_helpers import error_of, raw_error, register_remote

ML = "/_plugins/_ml"


async def test_register_get_and_search(client: AsyncOpenSearch, cluster: Cluster) -> None:
    cluster.advance(5)
    created = await client.plugins.ml.register_model_group(body={"name": "embeddings", "description": "all of them"})
    assert created["status"] == "CREATED" and len(created["model_group_id"]) == 20
    group = await client.plugins.ml.get_model_group(model_group_id=created["model_group_id"])
    now = cluster.clock.millis()
    assert group == {"name": "embeddings", "latest_version": 0, "description": "all of them", "access": "public",
                     "created_time": now, "last_updated_time": now}
    found = await client.plugins.ml.search_model_group(body={"query": {"term": {"name.keyword": "embeddings"}}})
    hit = found["hits"]["hits"][0]
    assert found["hits"]["total"] == {"value": 1, "relation": "eq"}
    assert hit["_id"] == created["model_group_id"] and hit["_version"] == 1 and hit["_source"]["name"] == "embeddings"


async def test_duplicate_name_is_refused_with_the_existing_id(client: AsyncOpenSearch) -> None:
    first = (await client.plugins.ml.register_model_group(body={"name": "g"}))["model_group_id"]
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.register_model_group(body={"name": "g"})
    assert error_of(caught.value) == (400, "illegal_argument_exception",
                                      f"The name you provided is already being used by a model group with ID: {first}.")


@pytest.mark.parametrize("field", [{"access_mode": "private"}, {"backend_roles": ["ops"]},
                                   {"add_all_backend_roles": False}])
async def test_access_control_fields_are_refused_without_security(client: AsyncOpenSearch, field: dict) -> None:
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.register_model_group(body={"name": "g", **field})
    assert error_of(caught.value)[2] == (
        "You cannot specify model access control parameters because the Security plugin or model access control is "
        "disabled on your cluster.")
    assert (await client.plugins.ml.search_model_group(body={"query": {"match_all": {}}}))["hits"]["hits"] == []


async def test_unknown_access_mode_is_ignored_as_ml_commons_does(client: AsyncOpenSearch) -> None:
    created = await client.plugins.ml.register_model_group(body={"name": "g", "access_mode": "everyone"})
    assert (await client.plugins.ml.get_model_group(model_group_id=created["model_group_id"]))["access"] == "public"


async def test_missing_name_and_empty_body(http: TestClient, cluster: Cluster) -> None:
    response = await http.post(f"{ML}/model_groups/_register", json={"description": "no name"})
    # 500 in OpenSearch: a deviation
    assert await raw_error(response) == (400, "null_pointer_exception", "model group name must not be null")
    response = await http.post(f"{ML}/model_groups/_register")
    assert await raw_error(response) == (400, "parse_exception", "Model group request has empty body")
    response = await http.post(f"{ML}/model_groups/_register", json={"name": {"nested": 1}})
    assert await raw_error(response) == (400, "parse_exception", "Can't get text on a START_OBJECT")
    assert not cluster.ml_commons.store[MODEL_GROUP_INDEX].docs


async def test_update_renames_and_keeps_names_unique(client: AsyncOpenSearch) -> None:
    a = (await client.plugins.ml.register_model_group(body={"name": "a"}))["model_group_id"]
    b = (await client.plugins.ml.register_model_group(body={"name": "b"}))["model_group_id"]
    assert await client.plugins.ml.update_model_group(
        model_group_id=a, body={"name": "a2", "description": "renamed"}) == {"status": "Updated"}
    group = await client.plugins.ml.get_model_group(model_group_id=a)
    assert (group["name"], group["description"]) == ("a2", "renamed")
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.update_model_group(model_group_id=a, body={"name": "b"})
    assert error_of(caught.value)[2] == (
        f"The name you provided is already being used by another model with ID: {b}. Please provide a different name")
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.update_model_group(model_group_id="nope", body={"name": "c"})
    assert error_of(caught.value) == (404, "status_exception",
                                      "Failed to find model group with the provided model group id: nope")


async def test_missing_group_before_the_index_exists(client: AsyncOpenSearch, http: TestClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_model_group(model_group_id="missing")
    assert error_of(caught.value) == (404, "status_exception", "Failed to find model group index")
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.update_model_group(model_group_id="missing", body={"name": "c"})
    assert error_of(caught.value) == (404, "status_exception", "Failed to find model group")
    response = await http.delete("/_plugins/_ml/model_groups/missing")
    assert await raw_error(response) == (404, "status_exception", "Failed to find model group")


async def test_get_missing_group(client: AsyncOpenSearch) -> None:
    await client.plugins.ml.register_model_group(body={"name": "other"})
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_model_group(model_group_id="missing")
    assert error_of(caught.value) == (
        404, "status_exception", "Failed to find model group with the provided model group id: missing")


async def test_delete_refuses_groups_with_versions(client: AsyncOpenSearch, http: TestClient) -> None:
    group_id = (await client.plugins.ml.register_model_group(body={"name": "g"}))["model_group_id"]
    model_id = await register_remote(client, model_group_id=group_id)
    with pytest.raises(ConflictError) as caught:
        await client.plugins.ml.delete_model_group(model_group_id=group_id)
    assert error_of(caught.value) == (409, "status_exception",
                                      "Cannot delete the model group when it has associated model versions")
    await client.plugins.ml.delete_model(model_id=model_id)
    deleted = await client.plugins.ml.delete_model_group(model_group_id=group_id)
    assert deleted["result"] == "deleted" and deleted["_index"] == ".plugins-ml-model-group"
    again = await http.delete(f"{ML}/model_groups/{group_id}")
    assert again.status == 200 and (await again.json())["result"] == "not_found"


async def test_versions_count_up_and_the_model_name_names_a_new_group(client: AsyncOpenSearch) -> None:
    group_id = (await client.plugins.ml.register_model_group(body={"name": "g"}))["model_group_id"]
    first = await register_remote(client, model_group_id=group_id)
    second = await register_remote(client, model_group_id=group_id)
    assert [(await client.plugins.ml.get_model(model_id=m))["model_version"] for m in (first, second)] == ["1", "2"]
    assert (await client.plugins.ml.get_model_group(model_group_id=group_id))["latest_version"] == 2
    # Without a group id the model's name is the group's: created once, then reused.
    solo = await register_remote(client, name="solo", description="my model")
    again = await register_remote(client, name="solo")
    solo_doc, again_doc = [await client.plugins.ml.get_model(model_id=m) for m in (solo, again)]
    assert solo_doc["model_group_id"] == again_doc["model_group_id"] != group_id
    assert (solo_doc["model_version"], again_doc["model_version"]) == ("1", "2")
    group = await client.plugins.ml.get_model_group(model_group_id=solo_doc["model_group_id"])
    assert (group["name"], group["description"], group["latest_version"]) == ("solo", "my model", 2)


async def test_python_api(cluster: Cluster) -> None:
    groups = cluster.ml_commons.groups
    group_id = groups.register({"name": "py"})
    assert groups.get(group_id)["latest_version"] == 0
    cluster.advance(3)
    assert groups.bump_version(group_id) == 1
    assert groups.get(group_id)["last_updated_time"] == cluster.clock.millis()
    assert groups.get("missing") is None
    with pytest.raises(MlError) as caught:
        groups.bump_version("missing")
    assert (caught.value.status, caught.value.reason) == (404, "Model group not found")
