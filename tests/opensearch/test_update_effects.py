"""Update-model fields that change a deployed remote model's answers at the next predict,
without an undeploy: the inline connector and a re-linked stand-alone connector; and the
descriptive fields, which change nothing a predict sees."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient


def connector(answer: dict[str, Any]) -> dict[str, Any]:
    """A connector whose simulated endpoint answers `answer`."""
    return {
        "name": "sim",
        "description": "simulated endpoint",
        "version": "1",
        "protocol": "http",
        "parameters": {"mlsim_response": json.dumps(answer)},
        "credential": {"api_key": "not-a-real-key"},
        "actions": [
            {
                "action_type": "predict",
                "method": "POST",
                "url": "https://api.openai.com/v1/completions",
                "request_body": '{"prompt": "${parameters.prompt}"}',
            }
        ],
    }


async def call(http: TestClient, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.request(method, path, json=body)
    answer = await response.json()
    assert response.status == 200, answer
    return answer


async def deployed_remote_model(http: TestClient, **source: Any) -> str:
    body = {"name": "chat", "function_name": "remote", **source}
    model_id = (await call(http, "POST", "/_plugins/_ml/models/_register", body))["model_id"]
    assert (await call(http, "POST", f"/_plugins/_ml/models/{model_id}/_deploy", {}))["status"] == "COMPLETED"
    return model_id


async def answer_of(http: TestClient, model_id: str) -> dict[str, Any]:
    body = {"parameters": {"prompt": "hi"}}
    result = await call(http, "POST", f"/_plugins/_ml/models/{model_id}/_predict", body)
    return result["inference_results"][0]["output"][0]["dataAsMap"]


async def state_of(http: TestClient, model_id: str) -> str:
    return (await (await http.get(f"/_plugins/_ml/models/{model_id}")).json())["model_state"]


async def test_inline_connector_update_changes_the_next_answer(http: TestClient) -> None:
    model_id = await deployed_remote_model(http, connector=connector({"answer": "v1"}))
    assert await answer_of(http, model_id) == {"answer": "v1"}
    update = {"connector": {"parameters": {"mlsim_response": json.dumps({"answer": "v2"})}}}
    await call(http, "PUT", f"/_plugins/_ml/models/{model_id}", update)
    assert await answer_of(http, model_id) == {"answer": "v2"}
    assert await state_of(http, model_id) == "DEPLOYED"


async def test_relinked_connector_answers_the_next_predict(http: TestClient) -> None:
    first = (await call(http, "POST", "/_plugins/_ml/connectors/_create", connector({"from": "a"})))["connector_id"]
    second = (await call(http, "POST", "/_plugins/_ml/connectors/_create", connector({"from": "b"})))["connector_id"]
    model_id = await deployed_remote_model(http, connector_id=first)
    assert await answer_of(http, model_id) == {"from": "a"}
    await call(http, "PUT", f"/_plugins/_ml/models/{model_id}", {"connector_id": second})
    assert await answer_of(http, model_id) == {"from": "b"}
    assert await state_of(http, model_id) == "DEPLOYED"


async def test_descriptive_fields_change_nothing_predict_sees(http: TestClient) -> None:
    model_id = await deployed_remote_model(http, connector=connector({"answer": "same"}))
    group = await call(http, "POST", "/_plugins/_ml/model_groups/_register", {"name": "other group"})
    update = {"name": "renamed", "description": "new words", "model_group_id": group["model_group_id"]}
    await call(http, "PUT", f"/_plugins/_ml/models/{model_id}", update)
    model = await (await http.get(f"/_plugins/_ml/models/{model_id}")).json()
    assert (model["name"], model["description"], model["model_group_id"]) == (
        "renamed", "new words", group["model_group_id"]
    )
    assert model["model_state"] == "DEPLOYED"
    assert await answer_of(http, model_id) == {"answer": "same"}
