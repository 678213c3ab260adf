"""The ES endpoints over raw HTTP: body and parameter errors, rules, cat, pipelines, infer."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cluster.cluster import Cluster
from cluster.inference_results import embedding

BASE = "/_ml/trained_models"


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    cluster.add_pytorch_model("ner", 100 * 2**20, task_type="ner")
    cluster.add_pytorch_model("emb", 100 * 2**20, task_type="text_embedding", task_settings={"embedding_size": 8})
    cluster.add_pytorch_model(
        "cls", 100 * 2**20, task_type="text_classification",
        task_settings={"classification_labels": ["neg", "pos"], "num_top_classes": 2},
    )
    return cluster


async def call(http: TestClient, method: str, path: str, body: Any = None, raw: str | None = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {}
    if raw is not None:
        kwargs = {"data": raw, "headers": {"Content-Type": "application/json"}}
    elif body is not None:
        kwargs = {"json": body}
    response = await http.request(method, path, **kwargs)
    text = await response.text()
    assert response.status != 500, text
    return response.status, (await response.json()) if "json" in response.content_type else text


def reason(body: dict[str, Any]) -> str:
    return body["error"]["reason"]


async def test_malformed_and_mistyped_bodies(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", raw='{"number_of_allocations": ')
    assert status == 400 and body["error"]["type"] == "x_content_parse_exception"
    raw = '{"number_of_allocations": "many"}'
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", raw=raw)
    assert (status, reason(body)) == (
        400, "[1:27] [start_trained_model_deployment] failed to parse field [number_of_allocations]"
    )
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", body={"bogus": 1})
    assert reason(body) == "[1:2] [start_trained_model_deployment] unknown field [bogus]"
    status, body = await call(http, "PUT", f"{BASE}/new-model", raw="")
    assert (status, body["error"]["type"]) == (400, "parse_exception")
    status, body = await call(http, "PUT", f"{BASE}/new-model", body={"inference_config": {"nonsense": {}}})
    assert reason(body).endswith("[trained_model_config] failed to parse field [inference_config]")
    status, body = await call(http, "PUT", f"{BASE}/new-model", body={"inference_config": {"ner": {}}})
    assert reason(body) == "Validation Failed: 1: [model_type] must be set if [definition] is not defined.;"
    status, body = await call(http, "PUT", f"{BASE}/new-model", body={"model_id": "other", "model_type": "pytorch",
                                                                          "inference_config": {"ner": {}}})
    assert "Inconsistent model_id" in reason(body)
    assert "new-model" not in world.state.models and world.state.assignments == {}


async def test_query_parameter_errors(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "GET", f"{BASE}?sise=3")
    assert (status, reason(body)) == (400, f"request [{BASE}] contains unrecognized parameter: [sise] -> did you mean [size]?")
    status, body = await call(http, "GET", f"{BASE}?size=x")
    assert reason(body) == "Failed to parse int parameter [size] with value [x]"
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_stop?force=maybe")
    assert reason(body) == "Failed to parse value [maybe] as only [true] or [false] are allowed."
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?timeout=soon")
    assert (status, body["error"]["type"]) == (400, "parse_exception")
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?cache_size=lots")
    assert "as a size in bytes" in reason(body)
    assert world.state.assignments == {}


async def test_wrong_method_on_an_ml_route(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "GET", f"{BASE}/ner/deployment/_start")
    assert status == 405
    assert body["error"] == f"Incorrect HTTP method for uri [{BASE}/ner/deployment/_start] and method [GET], allowed: [POST]"


async def test_start_query_and_body(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?number_of_allocations=2",
                              body={"number_of_allocations": 3})
    assert (status, reason(body)) == (400, "The parameter 3 in the body is different from the parameter 2 in the query")
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", body={"wait_for": "fully_allocated"})
    assert reason(body) == "The parameter fully_allocated in the body is different from the parameter started in the query"
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", body={"model_id": "emb"})
    assert reason(body) == "Inconsistent model_id; 'emb' specified in the body differs from 'ner' specified as a URL argument"
    assert world.state.assignments == {}
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?cache_size=10kb&priority=normal",
                              body={"model_threads": 2, "inference_threads": 2, "cache_size": "10kb", "model_id": "ner"})
    assert status == 200
    params = body["assignment"]["task_parameters"]
    assert (params["number_of_allocations"], params["threads_per_allocation"], params["cache_size"]) == (2, 2, "10kb")
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?deployment_id=ner-2&wait_for=fully_allocated")
    assert body["assignment"]["task_parameters"]["deployment_id"] == "ner-2"
    status, body = await call(http, "GET", f"{BASE}/ner/_stats")
    assert body["count"] == 1 and len(body["trained_model_stats"]) == 2


async def test_start_adaptive_and_timeout(http: TestClient, world: Cluster) -> None:
    body = {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 2, "max_number_of_allocations": 4}}
    status, answer = await call(http, "POST", f"{BASE}/emb/deployment/_start?wait_for=fully_allocated", body=body)
    assert status == 200
    assignment = answer["assignment"]
    assert assignment["task_parameters"]["number_of_allocations"] == 2
    assert assignment["adaptive_allocations"] == body["adaptive_allocations"]
    world.add_pytorch_model("huge", 40 * 2**30)
    status, answer = await call(http, "POST", f"{BASE}/huge/deployment/_start")
    assert status == 429 and "no ML nodes with sufficient capacity" in reason(answer)
    assert "huge" not in world.state.assignments


async def test_update_rules(http: TestClient, world: Cluster) -> None:
    await call(http, "POST", f"{BASE}/ner/deployment/_start")
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update")
    assert (status, body["error"]["type"]) == (400, "parse_exception")
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update?number_of_allocations=2",
                              body={"number_of_allocations": "not even read"})
    assert status == 200 and body["assignment"]["task_parameters"]["number_of_allocations"] == 2
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update",
                              body={"adaptive_allocations": {"enabled": True, "max_number_of_allocations": 4}})
    assert body["assignment"]["adaptive_allocations"] == {"enabled": True, "max_number_of_allocations": 4}
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update",
                              body={"adaptive_allocations": {"min_number_of_allocations": 1}})
    assert body["assignment"]["adaptive_allocations"] == {
        "enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4
    }
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update", body={"adaptive_allocations": None})
    assert body["assignment"]["adaptive_allocations"] is None
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_update", body={"number_of_allocations": 0})
    assert reason(body) == "Validation Failed: 1: [number_of_allocations] must be a positive integer;"
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/cache/_clear")
    assert (status, body) == (200, {"cleared": True})
    status, body = await call(http, "POST", f"{BASE}/emb/deployment/cache/_clear")
    assert status == 404


async def test_get_models_expressions(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "GET", f"{BASE}/e*,ner")
    assert [m["model_id"] for m in body["trained_model_configs"]] == ["emb", "ner"]
    status, body = await call(http, "GET", f"{BASE}/_all?from=1&size=1")
    assert body["count"] == 4 and [m["model_id"] for m in body["trained_model_configs"]] == ["emb"]
    status, body = await call(http, "GET", f"{BASE}/zzz*")
    assert (status, body["count"]) == (200, 0)
    status, body = await call(http, "GET", f"{BASE}/zzz*?allow_no_match=false")
    assert (status, reason(body)) == (404, "Could not find trained model [zzz*]")
    status, body = await call(http, "GET", f"{BASE}/ner?filter_path=trained_model_configs.model_id")
    assert body == {"trained_model_configs": [{"model_id": "ner"}]}


async def test_stats_of_a_starting_deployment(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?wait_for=starting")
    assert body["assignment"]["routing_table"]["node-a"]["routing_state"] == "starting"
    status, body = await call(http, "GET", f"{BASE}/ner/_stats")
    stats = body["trained_model_stats"][0]
    deployment = stats["deployment_stats"]
    assert deployment["state"] == "starting"
    assert deployment["allocation_status"]["state"] == "starting"
    assert deployment["nodes"][0] == {
        "node": deployment["nodes"][0]["node"],
        "routing_state": {"routing_state": "starting"},
        "peak_throughput_per_minute": 0,
        "throughput_last_minute": 0,
    }
    assert stats["model_size_stats"]["required_native_memory_bytes"] == 240 * 2**20 + 2 * 100 * 2**20


async def test_infer_answers_per_task(http: TestClient, world: Cluster) -> None:
    for model_id in ("emb", "cls"):
        await call(http, "POST", f"{BASE}/{model_id}/deployment/_start")
    status, body = await call(http, "POST", f"{BASE}/emb/_infer", body={"docs": [{"text_field": "hi"}]})
    assert body["inference_results"][0]["predicted_value"] == embedding("hi", 8)
    status, body = await call(http, "POST", f"{BASE}/cls/_infer", body={"docs": [{"text_field": "great"}]})
    result = body["inference_results"][0]
    assert result["predicted_value"] in ("neg", "pos") and len(result["top_classes"]) == 2
    status, body = await call(http, "POST", f"{BASE}/cls/_infer",
                              body={"docs": [{"text_field": "great"}], "inference_config": {"ner": {}}})
    assert status == 400
    status, body = await call(http, "POST", f"{BASE}/cls/_infer", body={"docs": []})
    assert status == 400
    status, body = await call(http, "POST", f"{BASE}/missing/_infer", body={"docs": [{"text_field": "x"}]})
    assert (status, reason(body)) == (404, "Could not find trained model [missing]")


async def test_cat_trained_models(http: TestClient, world: Cluster) -> None:
    status, text = await call(http, "GET", "/_cat/ml/trained_models?v&h=id,heap_size,type&s=id")
    lines = text.splitlines()
    assert lines[0].split() == ["id", "heap_size", "type"]
    assert lines[1].split() == ["cls", "100mb", "pytorch"]
    status, text = await call(http, "GET", "/_cat/ml/trained_models/ner?h=hs&bytes=b")
    assert text == f"{100 * 2**20}\n"
    status, text = await call(http, "GET", "/_cat/ml/trained_models?help")
    assert text.splitlines()[0].startswith("id")
    status, body = await call(http, "GET", "/_cat/ml/trained_models?h=nope")
    assert status == 400


async def test_pipelines(http: TestClient, world: Cluster) -> None:
    pipeline = {"processors": [{"inference": {"model_id": "ner"}}]}
    status, body = await call(http, "PUT", "/_ingest/pipeline/p1", body=pipeline)
    assert (status, body) == (200, {"acknowledged": True})
    status, body = await call(http, "GET", "/_ingest/pipeline/p1")
    assert body == {"p1": pipeline}
    status, body = await call(http, "GET", "/_ingest/pipeline/none")
    assert (status, body) == (404, {})
    status, body = await call(http, "PUT", "/_ingest/pipeline/p2",
                              body={"processors": [{"inference": {"model_id": "ghost"}}]})
    assert status == 404 and "p2" not in world.state.pipelines
    status, body = await call(http, "DELETE", f"{BASE}/ner")
    assert status == 409 and "referenced by ingest processors" in reason(body)
    status, body = await call(http, "GET", f"{BASE}/ner/_stats")
    assert body["trained_model_stats"][0]["pipeline_count"] == 1
    status, body = await call(http, "DELETE", "/_ingest/pipeline/p1")
    assert status == 200
    status, body = await call(http, "DELETE", "/_ingest/pipeline/p1")
    assert (status, reason(body)) == (404, "pipeline [p1] is missing")


async def test_definition_and_vocabulary_errors(http: TestClient, world: Cluster) -> None:
    await call(http, "PUT", f"{BASE}/tree", body={"inference_config": {"regression": {}},
                                                  "definition": {"trained_model": {}}})
    status, body = await call(http, "PUT", f"{BASE}/tree/definition/0",
                              body={"definition": "AA", "total_definition_length": 10, "total_parts": 1})
    assert status == 400 and "[tree_ensemble]" in reason(body)
    status, body = await call(http, "PUT", f"{BASE}/ner/definition/x",
                              body={"definition": "AA", "total_definition_length": 10, "total_parts": 1})
    assert status == 400
    status, body = await call(http, "PUT", f"{BASE}/ner/vocabulary", body={"vocabulary": "abc"})
    assert status == 400
    status, body = await call(http, "PUT", f"{BASE}/missing/vocabulary", body={"vocabulary": ["a"]})
    assert status == 404


async def test_out_of_range_and_unusable_values_are_400s(http: TestClient, world: Cluster) -> None:
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start?number_of_allocations=99999999999999999999")
    assert reason(body) == "Failed to parse int parameter [number_of_allocations] with value [99999999999999999999]"
    status, body = await call(http, "POST", f"{BASE}/ner/deployment/_start", body={"queue_capacity": 2**40})
    assert body["error"]["type"] == "x_content_parse_exception"
    status, body = await call(http, "PUT", f"{BASE}/bad-meta", body={
        "model_type": "pytorch", "inference_config": {"ner": {}}, "metadata": {"per_deployment_memory_bytes": "x"}})
    assert reason(body).endswith("failed to parse field [metadata]")
    status, body = await call(http, "GET", f"{BASE}?from=-1")
    assert reason(body) == "[from] parameter cannot be negative, found [-1]"
    await call(http, "POST", f"{BASE}/emb/deployment/_start")
    for size in ("x", 10**10):
        status, body = await call(http, "POST", f"{BASE}/emb/_infer", body={
            "docs": [{"text_field": "a"}], "inference_config": {"text_embedding": {"embedding_size": size}}})
        assert status == 400
    assert sorted(world.state.models) == ["cls", "emb", "lang_ident_model_1", "ner"] and sorted(world.state.assignments) == ["emb"]
