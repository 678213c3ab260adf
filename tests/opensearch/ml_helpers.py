"""Bodies and small helpers the ml-commons registry tests share."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from opensearchpy import AsyncOpenSearch, TransportError

from cluster.cluster import Cluster
from cluster.opensearch.documents import MODEL_INDEX

MINILM = "huggingface/sentence-transformers/all-MiniLM-L6-v2"
MINILM_BYTES = 91_789_778

OPENAI_CONNECTOR: dict[str, Any] = {
    "name": "OpenAI chat",
    "description": "chat completions",
    "version": "1",
    "protocol": "http",
    "parameters": {"endpoint": "api.openai.com", "model": "gpt-4o-mini", "temperature": 0},
    "credential": {"openAI_key": "sk-secret"},
    "actions": [{
        "action_type": "predict",
        "method": "POST",
        "url": "https://${parameters.endpoint}/v1/chat/completions",
        "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
        "request_body": '{ "model": "${parameters.model}", "messages": ${parameters.messages} }',
    }],
}


def error_of(exc: TransportError) -> tuple[int, str, str]:
    """(status, type, reason) of an error answer."""
    return exc.status_code, exc.info["error"]["type"], exc.info["error"]["reason"]


async def raw_error(response: ClientResponse) -> tuple[int, str, str]:
    body = await response.json()
    return response.status, body["error"]["type"], body["error"]["reason"]


async def register_remote(client: AsyncOpenSearch, name: str = "chat", **fields: Any) -> str:
    """A remote model with an inline connector; returns its model id."""
    body = {"name": name, "function_name": "remote", "connector": OPENAI_CONNECTOR, **fields}
    return (await client.plugins.ml.register_model(body=body))["model_id"]


async def allow_registering_via_url(client: AsyncOpenSearch) -> None:
    """Custom models register from a `url` only with this setting (off by default)."""
    await client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.allow_registering_model_via_url": True}})


def set_model_state(cluster: Cluster, model_id: str, state: str) -> None:
    """Put a model in a deploy state without the deployer (another part's job)."""
    cluster.ml_commons.store[MODEL_INDEX].update(model_id, {"model_state": state})
