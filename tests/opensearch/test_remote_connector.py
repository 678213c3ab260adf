"""The simulated remote connector: payload rendering, the endpoint's answer, how ml-commons
turns it into a `response` tensor."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.remote_connector import render, request_parameters, response_tensor, simulated_answer

from .test_predict import add_remote, connector, data_as_map, error_of, predict, register_remote


def test_render_substitutes_inside_substituted_values() -> None:
    assert render('{"p": "${parameters.prompt}"}', {"prompt": "${parameters.question}", "question": "hi"}) == '{"p": "hi"}'
    assert render("${parameters.unknown}", {}) == "${parameters.unknown}"


def test_render_refuses_a_loop() -> None:
    with pytest.raises(MlError) as raised:
        render("${parameters.a}", {"a": "${parameters.b}", "b": "${parameters.a}"})
    assert raised.value.status == 500


def test_request_parameters_are_escaped_unless_json() -> None:
    params = request_parameters({"prompt": 'say "hi"\n', "n": "3", "messages": '[{"role":"user"}]'}, None)
    assert params == {"prompt": 'say \\"hi\\"\\n', "n": "3", "messages": '[{"role":"user"}]'}


def test_text_docs_become_the_input_parameter() -> None:
    assert request_parameters({}, ["a", "b"]) == {"input": '["a", "b"]'}


@pytest.mark.parametrize(
    ("body", "response_filter", "data"),
    [
        ('{"a": 1, "b": [2, "x"]}', None, {"a": 1.0, "b": [2.0, "x"]}),
        ("[1, 2]", None, {"response": [1.0, 2.0]}),
        ("plain text", None, {"response": "plain text"}),
        ('{"choices": [{"text": " accept"}]}', "$.choices[0].text", {"response": " accept"}),
        ('{"usage": {"tokens": 5}}', "$.usage", {"response": {"tokens": 5}}),
        ('{"usage": {"tokens": 5}}', "$['usage'].tokens", {"response": 5}),
    ],
)
def test_response_tensor(body: str, response_filter: str | None, data: dict) -> None:
    assert response_tensor(body, response_filter) == {"name": "response", "dataAsMap": data}


def test_rules_pick_the_first_match_and_fall_back() -> None:
    rules = json.dumps([{"if_matches": "rob", "response": "reject ${parameters.who}"}, {"if_matches": "zzz", "response": "z"}])
    params = {"mlsim_response_rules": rules, "who": "you", "mlsim_response": "default"}
    assert simulated_answer(params, '{"q": "rob it"}') == "reject you"
    assert simulated_answer(params, '{"q": "fine"}') == "default"
    assert simulated_answer({}, '{"q": "fine"}') == '{"q": "fine"}'


def test_bad_rules_are_refused() -> None:
    with pytest.raises(MlError) as raised:
        simulated_answer({"mlsim_response_rules": "not a list"}, "{}")
    assert raised.value.status == 400


async def test_template_answer_with_response_filter(cluster: Cluster, http: TestClient) -> None:
    openai_like = connector(
        mlsim_response='{"id": "cmpl-1", "choices": [{"text": "echo: ${parameters.prompt}"}]}',
        response_filter="$.choices[0].text",
    )
    add_remote(cluster, connector=openai_like)
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert (status, data_as_map(body)) == (200, {"response": "echo: hi"})


async def test_request_may_override_the_simulated_answer(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi", "mlsim_response": "[1, 2]"}})
    assert (status, data_as_map(body)) == (200, {"response": [1.0, 2.0]})


async def test_standalone_connector(client: AsyncOpenSearch) -> None:
    created = await client.plugins.ml.create_connector(body=connector(mlsim_response='{"from": "stored"}'))
    model_id = await register_remote(client, None, connector_id=created["connector_id"])
    answer = await client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"prompt": "hi"}})
    assert data_as_map(answer) == {"from": "stored"}


async def test_missing_standalone_connector(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, connector=None, connector_id="gone")
    cluster.ml_commons.connectors.index.index("other", {"name": "other"})  # the index exists
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert (status, error_of(body)) == (
        404, ("status_exception", "Failed to find connector with the provided connector id: gone")
    )


async def test_connector_without_predict_action(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, connector={"name": "c", "protocol": "http", "actions": []})
    status, body = await predict(http, "remote-1", {"parameters": {}})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "no PREDICT action found"))


async def test_remote_embedding_with_text_docs(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, connector=connector('{"texts": ${parameters.input}}'))
    status, body = await predict(http, "remote-1", {"text_docs": ["a", "b"]}, path="/_plugins/_ml/_predict/text_embedding/remote-1")
    assert (status, data_as_map(body)) == (200, {"texts": ["a", "b"]})
