"""`PUT|GET /_cluster/settings` for the `plugins.ml_commons.*` settings: OpenSearch's answer
shapes, transient over persistent over the node's value, resets, and refusals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.opensearch.settings import SETTINGS, MlCommonsSettings

ML = "plugins.ml_commons."


def error(status: int, error_type: str, reason: str) -> dict[str, Any]:
    cause = {"type": error_type, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def test_every_setting_changes_a_field() -> None:
    names = {f.name for f in dataclasses.fields(MlCommonsSettings)}
    assert {spec.field for spec in SETTINGS.values() if spec.field is not None} <= names


async def test_put_answers_with_what_it_set(cluster: Cluster, client: AsyncOpenSearch) -> None:
    answer = await client.cluster.put_settings(
        body={"persistent": {ML + "allow_custom_deployment_plan": True, ML + "remote_inference.enabled": "false"}}
    )
    assert answer == {
        "acknowledged": True,
        "persistent": {"plugins": {"ml_commons": {
            "allow_custom_deployment_plan": "true", "remote_inference": {"enabled": "false"},
        }}},
        "transient": {},
    }
    settings = cluster.ml_commons.settings
    assert settings.allow_custom_deployment_plan is True and settings.remote_inference_enabled is False


async def test_nested_keys_and_flat_settings(cluster: Cluster, client: AsyncOpenSearch) -> None:
    body = {"transient": {"plugins": {"ml_commons": {"sync_up_job_interval_in_seconds": 3, "model_auto_deploy": {"enable": False}}}}}
    answer = await client.cluster.put_settings(body=body, params={"flat_settings": "true"})
    assert answer["transient"] == {ML + "model_auto_deploy.enable": "false", ML + "sync_up_job_interval_in_seconds": "3"}
    assert cluster.ml_commons.settings.sync_up_job_interval_in_seconds == 3
    assert cluster.ml_commons.settings.model_auto_deploy_enable is False
    assert await client.cluster.get_settings(params={"flat_settings": "true"}) == {
        "persistent": {},
        "transient": {ML + "model_auto_deploy.enable": "false", ML + "sync_up_job_interval_in_seconds": "3"},
    }


async def test_transient_wins_and_resets_fall_back(cluster: Cluster, client: AsyncOpenSearch) -> None:
    settings = cluster.ml_commons.settings
    await client.cluster.put_settings(body={
        "persistent": {ML + "max_model_on_node": 5}, "transient": {ML + "max_model_on_node": 7},
    })
    assert settings.max_model_on_node == 7
    answer = await client.cluster.put_settings(body={"transient": {ML + "max_model_on_node": None}})
    assert answer == {"acknowledged": True, "persistent": {}, "transient": {}}
    assert settings.max_model_on_node == 5
    await client.cluster.put_settings(body={"persistent": {ML + "*": None}})
    assert settings.max_model_on_node == 10
    assert await client.cluster.get_settings() == {"persistent": {}, "transient": {}}


async def test_a_reset_restores_the_nodes_own_value(cluster: Cluster, client: AsyncOpenSearch) -> None:
    settings = cluster.ml_commons.settings
    settings.jvm_heap_memory_threshold = 100  # the node started so
    await client.cluster.put_settings(body={"persistent": {ML + "jvm_heap_memory_threshold": 1}})
    assert settings.jvm_heap_memory_threshold == 1
    defaults = await client.cluster.get_settings(params={"include_defaults": "true", "flat_settings": "true"})
    assert defaults["defaults"][ML + "jvm_heap_memory_threshold"] == "100"
    await client.cluster.put_settings(body={"persistent": {ML + "jvm_heap_memory_threshold": None}})
    assert settings.jvm_heap_memory_threshold == 100


async def test_defaults_list_every_known_setting(client: AsyncOpenSearch) -> None:
    answer = await client.cluster.get_settings(params={"include_defaults": "true"})
    ml = answer["defaults"]["plugins"]["ml_commons"]
    assert ml["max_model_on_node"] == "10" and ml["model_auto_redeploy_success_ratio"] == "0.8"
    assert ml["ml_task_timeout_in_seconds"] == "600" and ml["allow_registering_model_via_url"] == "false"
    assert ml["task_dispatcher"]["eligible_node_role"]["remote_model"] == ["data", "ml"]


async def test_list_settings(cluster: Cluster, client: AsyncOpenSearch) -> None:
    await client.cluster.put_settings(body={"persistent": {
        ML + "task_dispatcher.eligible_node_role.local_model": ["ml"],
        ML + "task_dispatcher.eligible_node_role.remote_model": "ml,data",
    }})
    settings = cluster.ml_commons.settings
    assert settings.local_model_eligible_node_roles == ("ml",)
    assert settings.remote_model_eligible_node_roles == ("ml", "data")


@pytest.mark.parametrize(
    "body, error_type, reason",
    [
        ({"persistent": {ML + "nope": 1}}, "illegal_argument_exception", f"persistent setting [{ML}nope], not recognized"),
        ({"transient": {"cluster.routing.allocation.enable": "none"}}, "illegal_argument_exception",
         "transient setting [cluster.routing.allocation.enable], not recognized"),
        ({"persistent": {ML + "only_run_on_ml_node": "yes"}}, "illegal_argument_exception",
         "Failed to parse value [yes] as only [true] or [false] are allowed."),
        ({"persistent": {ML + "max_model_on_node": "ten"}}, "illegal_argument_exception",
         f"Failed to parse value [ten] for setting [{ML}max_model_on_node]"),
        ({"persistent": {ML + "max_model_on_node": 10001}}, "illegal_argument_exception",
         f"Failed to parse value [10001] for setting [{ML}max_model_on_node] must be <= 10000"),
        ({"persistent": {ML + "native_memory_threshold": -1}}, "illegal_argument_exception",
         f"Failed to parse value [-1] for setting [{ML}native_memory_threshold] must be >= 0"),
        ({"persistent": {ML + "model_auto_redeploy_success_ratio": 1.5}}, "illegal_argument_exception",
         f"Failed to parse value [1.5] for setting [{ML}model_auto_redeploy_success_ratio] must be <= 1.0"),
        ({"persistent": {ML + "disk_free_space_threshold": "1 parsec"}}, "illegal_argument_exception",
         f"failed to parse setting [{ML}disk_free_space_threshold] with value [1 parsec] as a size in bytes: unit "
         "is missing or unrecognized"),
        ({"persistent": {ML + "trusted_connector_endpoints_regex": ["^https://(a+)+$"]}}, "illegal_argument_exception",
         "Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: ^https://(a+)+$"),
        ({"persistent": {ML + "trusted_connector_endpoints_regex": ["^https://[a-$"]}}, "illegal_argument_exception",
         "Invalid regex pattern: ^https://[a-$"),
        # documented, but ml-commons' code registers no such setting: the code decides
        ({"persistent": {ML + "max_memory_containers_per_user": 10}}, "illegal_argument_exception",
         f"persistent setting [{ML}max_memory_containers_per_user], not recognized"),
        ({"persistent": {}}, "action_request_validation_exception", "Validation Failed: 1: no settings to update;"),
        ({"persistent": "x"}, "parsing_exception",
         "Failed to parse object: expecting token of type [START_OBJECT] but found [VALUE_STRING]"),
    ],
)
async def test_refusals_change_nothing(cluster: Cluster, http: TestClient, body: Any, error_type: str, reason: str) -> None:
    before = dataclasses.replace(cluster.ml_commons.settings)
    body = {"persistent": {ML + "max_model_on_node": 3}, **body} if "transient" in body else body
    response = await http.put("/_cluster/settings", json=body)
    assert (response.status, await response.json()) == (400, error(400, error_type, reason))
    assert cluster.ml_commons.settings == before
    assert cluster.ml_commons.settings.cluster_overrides.persistent == {}


async def test_body_is_required(http: TestClient) -> None:
    response = await http.put("/_cluster/settings")
    assert (response.status, await response.json()) == (400, error(400, "parse_exception", "request body is required"))
