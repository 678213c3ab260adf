"""The `plugins.ml_commons.*` settings of OpenSearch's cluster-settings page that ml-commons
registers: all accepted in one PUT (the tutorials' setup blocks), one unknown key refusing the
whole request, and the ones that change behaviour here: trusted connector endpoints, trusted
model URLs, local models switched off."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch, RequestError

from cluster.cluster import Cluster

from .ml_helpers import OPENAI_CONNECTOR, allow_registering_via_url, error_of

ML = "plugins.ml_commons."
DOCUMENTED: dict[str, Any] = {
    ML + "trusted_connector_endpoints_regex": ["^https://api\\.example\\.com/.*$"],
    ML + "model_access_control_enabled": True,
    ML + "connector_access_control_enabled": False,
    ML + "max_ml_task_per_node": 12,
    ML + "monitoring_request_count": 1000,
    ML + "allow_registering_model_via_local_file": True,
    ML + "trusted_url_regex": "^https://models\\.example\\.com/.*",
    ML + "disk_free_space_threshold": "10G",
    ML + "enable_inhouse_python_model": True,
    ML + "local_model.enabled": True,
    ML + "agent_framework_enabled": True,
    ML + "memory_feature_enabled": False,
    ML + "agentic_memory_enabled": False,
    ML + "rag_pipeline_feature_enabled": True,
    ML + "offline_batch_inference_enabled": True,
}
UNTRUSTED = {**OPENAI_CONNECTOR, "parameters": {"endpoint": "api.example.com"},
             "actions": [{**OPENAI_CONNECTOR["actions"][0], "url": "https://${parameters.endpoint}/predict"}]}
NOT_TRUSTED = (400, "illegal_argument_exception", "Connector URL is not matching the trusted connector endpoint regex")


async def test_every_documented_setting_is_accepted_in_one_put(client: AsyncOpenSearch) -> None:
    answer = await client.cluster.put_settings(body={"persistent": DOCUMENTED}, params={"flat_settings": "true"})
    shown = {key: value if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
             for key, value in DOCUMENTED.items()}
    assert answer["persistent"] == dict(sorted(shown.items()))
    assert (await client.cluster.get_settings(params={"flat_settings": "true"}))["persistent"] == answer["persistent"]


async def test_one_unknown_key_refuses_the_whole_put(client: AsyncOpenSearch, cluster: Cluster) -> None:
    before = dataclasses.replace(cluster.ml_commons.settings)
    with pytest.raises(RequestError) as raised:
        await client.cluster.put_settings(body={"persistent": {**DOCUMENTED, ML + "no_such_setting": True}})
    assert error_of(raised.value) == (400, "illegal_argument_exception",
                                      f"persistent setting [{ML}no_such_setting], not recognized")
    assert cluster.ml_commons.settings == before
    assert (await client.cluster.get_settings())["persistent"] == {}


async def test_defaults_show_the_trusted_endpoints(client: AsyncOpenSearch) -> None:
    defaults = (await client.cluster.get_settings(params={"include_defaults": "true", "flat_settings": "true"}))["defaults"]
    assert "^https://api\\.openai\\.com/.*$" in defaults[ML + "trusted_connector_endpoints_regex"]
    assert defaults[ML + "disk_free_space_threshold"] == "5gb"


async def test_untrusted_connector_endpoint_is_refused_until_trusted(client: AsyncOpenSearch) -> None:
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.create_connector(body=UNTRUSTED)
    assert error_of(raised.value) == NOT_TRUSTED
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.register_model(body={"name": "m", "function_name": "remote", "connector": UNTRUSTED})
    assert error_of(raised.value) == NOT_TRUSTED
    assert (await client.plugins.ml.search_connectors(body={"query": {"match_all": {}}}))["hits"]["total"]["value"] == 0
    await client.cluster.put_settings(body={"persistent": {
        ML + "trusted_connector_endpoints_regex": ["^https://api\\.example\\.com/.*$"]}})
    created = await client.plugins.ml.create_connector(body=UNTRUSTED)
    assert created["connector_id"]


async def test_connector_update_to_an_untrusted_url_is_refused(client: AsyncOpenSearch) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR))["connector_id"]
    with pytest.raises(RequestError) as raised:
        await client.transport.perform_request(
            "PUT", f"/_plugins/_ml/connectors/{connector_id}", body={"parameters": {"endpoint": "api.example.com"}})
    assert error_of(raised.value) == NOT_TRUSTED
    stored = await client.plugins.ml.get_connector(connector_id=connector_id)
    assert stored["parameters"]["endpoint"] == "api.openai.com"


async def test_trusted_url_regex_setting_decides_register_urls(client: AsyncOpenSearch) -> None:
    await allow_registering_via_url(client)
    await client.cluster.put_settings(body={"persistent": {ML + "trusted_url_regex": "^https://models\\.example\\.com/"}})
    body = {"name": "e5", "version": "1", "model_format": "ONNX", "function_name": "TEXT_EMBEDDING",
            "url": "https://elsewhere.example.com/e5.zip",
            "model_config": {"model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers"}}
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.register_model(body=body)
    assert error_of(raised.value) == (400, "illegal_argument_exception", "URL can't match trusted url regex")
    answer = await client.plugins.ml.register_model(body={**body, "url": "https://models.example.com/e5.zip"})
    assert answer["status"] == "CREATED"


async def test_local_models_switched_off(client: AsyncOpenSearch) -> None:
    await client.cluster.put_settings(body={"transient": {ML + "local_model.enabled": False}})
    body = {"name": "huggingface/sentence-transformers/all-MiniLM-L6-v2", "version": "1.0.1",
            "model_format": "TORCH_SCRIPT"}
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.register_model(body=body)
    assert error_of(raised.value) == (
        400, "status_exception",
        'Local Model is currently disabled. To enable it, update the setting "plugins.ml_commons.local_model.enabled" '
        "to true.")


async def test_other_registered_settings_are_stored_and_fixed_ones_refused(client: AsyncOpenSearch) -> None:
    """Tutorials' setup blocks set other ml-commons switches too (MCP, batch ingestion);
    node-scope-only and final settings cannot change at run time, as in OpenSearch."""
    answer = await client.cluster.put_settings(
        body={"persistent": {ML + "mcp_connector_enabled": True, ML + "batch_ingestion_bulk_size": 1000}},
        params={"flat_settings": "true"})
    assert answer["persistent"] == {ML + "batch_ingestion_bulk_size": "1000", ML + "mcp_connector_enabled": "true"}
    defaults = (await client.cluster.get_settings(params={"include_defaults": "true", "flat_settings": "true"}))
    assert defaults["defaults"][ML + "remote_job.status_field"] == ["status", "Status", "TransformJobStatus"]
    for body, reason in (
        ({"persistent": {ML + "batch_ingestion_bulk_size": 99}},
         f"Failed to parse value [99] for setting [{ML}batch_ingestion_bulk_size] must be >= 100"),
        ({"persistent": {ML + "multi_tenancy_enabled": True}},
         f"persistent setting [{ML}multi_tenancy_enabled], not dynamically updateable"),
        ({"transient": {ML + "metrics_collection_enabled": True}},
         f"final transient setting [{ML}metrics_collection_enabled], not updateable"),
        ({"persistent": {ML + "multi_tenancy_enabled": None}},  # nor reset
         f"persistent setting [{ML}multi_tenancy_enabled], not dynamically updateable"),
    ):
        with pytest.raises(RequestError) as raised:
            await client.cluster.put_settings(body=body)
        assert error_of(raised.value) == (400, "illegal_argument_exception", reason)
