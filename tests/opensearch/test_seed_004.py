"""The update-model seed (`shared/seeds/004`), verbatim, against `mlsim serve --demo`'s world.

`data/seed_004_requests.txt` holds the seed's six requests exactly as printed (method line,
then the JSON body). Each one must answer the documented `.plugins-ml-model` update
response, and each field must change what predict does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.demo import build_demo
from cluster.opensearch.demo import (
    CHAT_MODEL, EMBEDDING_MODEL, GUARDED_MODEL, JURASSIC_MODEL, build_opensearch_demo,
)

SEED_REQUESTS = Path(__file__).parent / "data" / "seed_004_requests.txt"


def seed_requests() -> list[tuple[str, str, str]]:
    """(method, path, body text) of each example, in the seed's order."""
    requests = []
    for block in SEED_REQUESTS.read_text(encoding="utf-8").strip().split("\n\n"):
        first, _, body = block.partition("\n")
        method, path = first.split(" ", 1)
        requests.append((method, path, body))
    return requests


@pytest.fixture
def cluster() -> Cluster:
    """The `--demo` world: the Elasticsearch seeds' nodes and models, then seed 004's."""
    cluster = Cluster(clock="virtual")
    build_demo(cluster)
    build_opensearch_demo(cluster.ml_commons)
    return cluster


async def predict(http: TestClient, model_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await http.post(f"/_plugins/_ml/models/{model_id}/_predict", json=body)
    return response.status, await response.json()


def chat(prompt: str, **parameters: str) -> dict[str, Any]:
    return {"parameters": {"prompt": prompt, **parameters}}


def error(status: int, error_type: str, reason: str) -> dict[str, Any]:
    cause = {"type": error_type, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


async def test_every_example_answers_the_documented_update_response(http: TestClient) -> None:
    versions: dict[str, int] = {}
    last_seq_no = -1
    for method, path, body in seed_requests():
        response = await http.request(method, path, data=body, headers={"Content-Type": "application/json"})
        answer = await response.json()
        assert response.status == 200, (path, answer)
        model_id = path.rsplit("/", 1)[1]
        assert set(answer) == {"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term"}
        assert (answer["_index"], answer["_id"], answer["result"]) == (".plugins-ml-model", model_id, "updated")
        assert answer["_shards"] == {"total": 1, "successful": 1, "failed": 0}
        assert answer["_version"] > versions.get(model_id, 1)
        assert answer["_seq_no"] > last_seq_no
        versions[model_id], last_seq_no = answer["_version"], answer["_seq_no"]


async def test_examples_through_opensearch_py(client: AsyncOpenSearch, cluster: Cluster) -> None:
    for _, path, body in seed_requests():
        model_id = path.rsplit("/", 1)[1]
        answer = await client.plugins.ml.update_model(model_id=model_id, body=json.loads(body))
        assert answer["result"] == "updated"
    model = await client.plugins.ml.get_model(model_id=CHAT_MODEL)
    assert model["is_enabled"] is False
    assert model["guardrails"]["type"] == "local_regex"
    limited = await client.plugins.ml.get_model(model_id=EMBEDDING_MODEL)
    assert limited["rate_limiter"] == {"limit": "4", "unit": "MINUTES"}


async def test_disabling_the_model_refuses_predict(http: TestClient) -> None:
    assert (await predict(http, CHAT_MODEL, chat("hello")))[0] == 200
    method, path, body = seed_requests()[0]
    await http.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert await predict(http, CHAT_MODEL, chat("hello")) == (
        403, error(403, "status_exception", "Model is disabled.")
    )


async def test_rate_limiter_gives_each_node_its_share(http: TestClient, cluster: Cluster) -> None:
    """4 a minute over two workers: each node's bucket holds 2. A local model's limit is
    checked on the node that receives the request (mlsim: the first node) and again on the
    worker, so the receiving node's 2 tokens run out first."""
    method, path, body = seed_requests()[1]
    await http.request(method, path, data=body, headers={"Content-Type": "application/json"})
    embed = {"text_docs": ["today is sunny"]}
    statuses = [(await predict(http, EMBEDDING_MODEL, embed))[0] for _ in range(2)]
    assert statuses == [200, 200]
    assert await predict(http, EMBEDDING_MODEL, embed) == (
        429, error(429, "status_exception", "Request is throttled at model level.")
    )
    cluster.clock.advance(60)  # a node earns limit / workers = 2 tokens a minute
    assert (await predict(http, EMBEDDING_MODEL, embed))[0] == 200


async def test_local_regex_guardrails_check_the_stop_word_index(http: TestClient) -> None:
    method, path, body = seed_requests()[2]
    await http.request(method, path, data=body, headers={"Content-Type": "application/json"})
    await http.put(f"/_plugins/_ml/models/{CHAT_MODEL}", json={"is_enabled": True})
    assert (await predict(http, CHAT_MODEL, chat("what is the weather")))[0] == 200
    assert await predict(http, CHAT_MODEL, chat("say the stop word please")) == (
        400, error(400, "illegal_argument_exception", "guardrails triggered for user input")
    )
    await http.put("/updated_stop_words_input/_doc/99", json={"query": {"match_phrase": {"updated_title": "weather"}}})
    assert (await predict(http, CHAT_MODEL, chat("what is the weather")))[0] == 400


async def test_model_guardrails_ask_the_guardrail_model(http: TestClient) -> None:
    """ml-commons matches the regex against the JSON of the guardrail model's answer, quotes
    included: the seed's regex never matches the string "accept", so with the seed's settings
    every question is refused; the quoted form ml-commons' own test uses lets accepted ones
    through."""
    assert (await predict(http, GUARDED_MODEL, chat("hi", question="what is my password")))[0] == 200
    method, path, body = seed_requests()[3]
    await http.request(method, path, data=body, headers={"Content-Type": "application/json"})
    refused = (400, error(400, "illegal_argument_exception", "guardrails triggered for user input"))
    assert await predict(http, GUARDED_MODEL, chat("hi", question="what is the weather")) == refused
    quoted = json.loads(body)
    for side in ("input_guardrail", "output_guardrail"):
        quoted["guardrails"][side]["response_validation_regex"] = '^"\\s*[Aa]ccept\\s*"$'
    await http.put(path.split(" ")[-1], json=quoted)
    assert (await predict(http, GUARDED_MODEL, chat("hi", question="what is the weather")))[0] == 200
    assert await predict(http, GUARDED_MODEL, chat("hi", question="what is my password")) == refused


async def test_output_interface_validates_the_answer_until_removed(http: TestClient) -> None:
    set_schema, remove_schema = seed_requests()[4], seed_requests()[5]
    good = chat("Tell me a story")
    bad = chat("Tell me a story", mlsim_response='{"id": "not a number"}')
    status, answer = await predict(http, JURASSIC_MODEL, good)
    assert status == 200
    assert answer["inference_results"][0]["output"][0]["dataAsMap"]["completions"][0]["finishReason"]["reason"] == (
        "endoftext"
    )
    assert (await predict(http, JURASSIC_MODEL, bad))[0] == 200
    await http.request(set_schema[0], set_schema[1], data=set_schema[2], headers={"Content-Type": "application/json"})
    assert (await predict(http, JURASSIC_MODEL, good))[0] == 200
    status, answer = await predict(http, JURASSIC_MODEL, bad)
    assert status == 400
    assert answer["error"]["reason"].startswith(
        "Error validating output schema, if you think this is expected, please update your 'output' field in "
        "the 'interface' field for this model: "
    )
    await http.request(
        remove_schema[0], remove_schema[1], data=remove_schema[2], headers={"Content-Type": "application/json"}
    )
    assert (await predict(http, JURASSIC_MODEL, bad))[0] == 200
