"""Ingest with the inference processor: `_simulate`, single writes and `_bulk` into an index
whose pipeline enriches documents, and the counters that shows in."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from elasticsearch import AsyncElasticsearch, BadRequestError

from cluster.cluster import Cluster
from nodes.resources import MiB

NER = {"inference": {"model_id": "ner", "tag": "people"}}


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    cluster.add_pytorch_model("ner", 200 * MiB, task_type="ner")
    cluster.add_pytorch_model("e5", 200 * MiB, task_type="text_embedding", task_settings={"embedding_size": 4})
    cluster.start_deployment("ner")
    cluster.start_deployment("e5")
    return cluster


def entities(result: dict[str, Any]) -> list[str]:
    return [e["entity"] for e in result["entities"]]


async def test_simulate_inline_pipeline_runs_the_model(es: AsyncElasticsearch, world: Cluster) -> None:
    result = await es.ingest.simulate(
        pipeline={"processors": [NER, {"inference": {"model_id": "e5", "field_map": {"body": "text_field"},
                                                     "target_field": "vec"}}]},
        docs=[{"_id": "1", "_source": {"text_field": "Ann met Bob", "body": "hello"}}],
    )
    doc = result["docs"][0]["doc"]
    assert doc["_id"] == "1" and doc["_index"] == "_index" and doc["_version"] == "-3"
    people = doc["_source"]["ml"]["inference"]["people"]
    assert entities(people) == ["Ann", "Bob"] and people["model_id"] == "ner"
    vector = doc["_source"]["vec"]
    assert len(vector["predicted_value"]) == 4 and vector["model_id"] == "e5"
    served = (await es.ml.get_trained_models_stats(model_id="ner"))["trained_model_stats"][0]
    assert served["deployment_stats"]["nodes"][0]["inference_count"] == 1


async def test_simulate_input_output_verbose_and_failures(es: AsyncElasticsearch, world: Cluster) -> None:
    await es.ingest.put_pipeline(id="emb", processors=[
        {"inference": {"model_id": "e5", "input_output": [{"input_field": "title", "output_field": "title_vec"}]}},
    ])
    result = await es.ingest.simulate(id="emb", verbose=True,
                                      docs=[{"_source": {"title": "x"}}, {"_source": {"other": 1}}])
    ok, missing = result["docs"]
    step = ok["processor_results"][0]
    assert step["processor_type"] == "inference" and step["status"] == "success"
    assert len(step["doc"]["_source"]["title_vec"]) == 4 and step["doc"]["_source"]["model_id"] == "e5"
    failed = missing["processor_results"][0]
    assert failed["status"] == "error"
    assert failed["error"]["reason"] == "field [title] not present as part of path [title]"
    # A stopped model fails each document, the request still answers 200.
    await es.ml.stop_trained_model_deployment(model_id="e5", force=True)
    result = await es.ingest.simulate(id="emb", docs=[{"_source": {"title": "x"}}])
    assert result["docs"][0]["error"]["reason"] == "Trained model deployment [e5] is not allocated to any nodes"


async def test_simulate_errors(es: AsyncElasticsearch, world: Cluster) -> None:
    cases = [
        ({"docs": [{"_source": {}}]}, "parse_exception", "[pipeline] required property is missing"),
        ({"pipeline": {"processors": []}}, "parse_exception", "[docs] required property is missing"),
        ({"pipeline": {"processors": []}, "docs": []}, "illegal_argument_exception",
         "must specify at least one document in [docs]"),
        ({"pipeline": {"processors": [{"inference": {}}]}, "docs": [{"_source": {}}]}, "parse_exception",
         "[model_id] required property is missing"),
        ({"pipeline": {"processors": [{"grok": {}}]}, "docs": [{"_source": {}}]}, "parse_exception",
         "No processor type exists with name [grok]"),
    ]
    for body, kind, reason in cases:
        with pytest.raises(BadRequestError) as bad:
            await es.ingest.simulate(body=body)
        assert (bad.value.body["error"]["type"], bad.value.body["error"]["reason"]) == (kind, reason)
    with pytest.raises(BadRequestError) as bad:
        await es.ingest.simulate(id="ghost", docs=[{"_source": {}}])
    assert bad.value.body["error"]["reason"] == "pipeline [ghost] does not exist"


async def test_bulk_into_an_index_with_a_default_pipeline(es: AsyncElasticsearch, world: Cluster) -> None:
    await es.ingest.put_pipeline(id="people", processors=[NER])
    await es.indices.create(index="docs", settings={"index": {"default_pipeline": "people"}})
    response = await es.bulk(operations=[
        {"index": {"_index": "docs", "_id": "1"}}, {"text_field": "Ann lives in Paris"},
        {"index": {"_index": "docs", "_id": "2"}}, {"text_field": "Nobody here"},
        {"create": {"_index": "plain", "_id": "3", "pipeline": "_none"}}, {"text_field": "Raw Text"},
    ])
    assert response["errors"] is False and "ingest_took" in response
    assert [next(iter(item.values()))["status"] for item in response["items"]] == [201, 201, 201]
    got = await es.get(index="docs", id="1")
    assert entities(got["_source"]["ml"]["inference"]["people"]) == ["Ann", "Paris"]
    assert "ml" not in (await es.get(index="plain", id="3"))["_source"]

    hits = await es.search(index="docs", query={"ids": {"values": ["2"]}})
    assert [h["_id"] for h in hits["hits"]["hits"]] == ["2"]
    assert (await es.search(index="docs", query={"match_all": {}}))["hits"]["total"]["value"] == 2
    assert (await es.search(index="docs", query={"term": {"text_field.keyword": "Nobody here"}}))["hits"]["total"]["value"] == 1

    stats = await es.nodes.stats(metric="ingest")
    pipeline = stats["nodes"]["node-a"]["ingest"]["pipelines"]["people"]
    assert pipeline["count"] == 2 and pipeline["failed"] == 0
    assert pipeline["processors"][0]["inference:people"]["stats"]["count"] == 2
    ner = (await es.ml.get_trained_models_stats(model_id="ner"))["trained_model_stats"][0]
    assert ner["deployment_stats"]["inference_count"] == 2


async def test_single_writes_run_the_pipeline(es: AsyncElasticsearch, world: Cluster) -> None:
    await es.ingest.put_pipeline(id="people", processors=[NER])
    await es.index(index="later", id="0", document={"text_field": "Nobody"})
    await es.indices.put_settings(index="later", settings={"index.default_pipeline": "people"})
    shown = await es.indices.get_settings(index="later")
    assert shown["later"]["settings"]["index"]["default_pipeline"] == "people"
    await es.index(index="later", id="1", document={"text_field": "Zoe"})
    assert entities((await es.get(index="later", id="1"))["_source"]["ml"]["inference"]["people"]) == ["Zoe"]
    assert "ml" not in (await es.get(index="later", id="0"))["_source"]
    await es.index(index="one", id="a", document={"text_field": "Eve"}, pipeline="people")
    assert entities((await es.get(index="one", id="a"))["_source"]["ml"]["inference"]["people"]) == ["Eve"]
    with pytest.raises(BadRequestError) as bad:
        await es.index(index="two", id="a", document={"x": 1}, pipeline="ghost")
    assert bad.value.body["error"]["reason"] == "pipeline with id [ghost] does not exist"
    assert not await es.indices.exists(index="two")


async def test_bulk_item_failures_and_request_errors(http: TestClient, world: Cluster) -> None:
    await http.put("/_ingest/pipeline/emb", json={"processors": [
        {"inference": {"model_id": "e5", "input_output": {"input_field": "t", "output_field": "v"}}}]})
    ndjson = ('{"index":{"_id":"1","pipeline":"emb"}}\n{"t":"hi"}\n'
              '{"index":{"_id":"2","pipeline":"emb"}}\n{"u":"no t"}\n'
              '{"update":{"_id":"9"}}\n{"doc":{"a":1}}\n'
              '{"delete":{"_id":"1"}}\n')
    response = await http.post("/mixed/_bulk", data=ndjson, headers={"Content-Type": "application/x-ndjson"})
    body = await response.json()
    assert response.status == 200 and body["errors"] is True
    statuses = [(kind, item["status"]) for entry in body["items"] for kind, item in entry.items()]
    assert statuses == [("index", 201), ("index", 400), ("update", 404), ("delete", 200)]
    assert body["items"][2]["update"]["error"]["type"] == "document_missing_exception"
    assert "X-Elastic-Product" not in response.headers  # an OpenSearch-dialect index path, plain JSON
    for raw, reason in [
        ('{"index":{"_index":"x"}}\n{"a":1}', "The bulk request must be terminated by a newline [\\n]"),
        ('{"explode":{"_index":"x"}}\n{"a":1}\n',
         "Malformed action/metadata line [1], expected one of [create, delete, index, update] but found [explode]"),
        ('{"index":{}}\n{"a":1}\n', "Validation Failed: 1: index is missing;"),
        ('{"index":{"_index":"x","_id":{"a":1}}}\n{"a":1}\n',
         "Malformed action/metadata line [1], expected a simple value for field [_id] but found [START_OBJECT]"),
    ]:
        bad = await http.post("/_bulk", data=raw, headers={"Content-Type": "application/x-ndjson"})
        assert bad.status == 400 and (await bad.json())["error"]["reason"] == reason
    assert (await http.post("/_bulk", data="")).status == 400


async def test_a_full_queue_fails_only_the_documents_it_refuses(es: AsyncElasticsearch, world: Cluster) -> None:
    world.add_pytorch_model("tiny-queue", 100 * MiB, task_type="ner")
    world.start_deployment("tiny-queue", queue_capacity=2)
    await es.ingest.put_pipeline(id="narrow", processors=[{"inference": {"model_id": "tiny-queue"}}])
    operations: list[dict[str, Any]] = []
    for i in range(12):
        operations += [{"index": {"_index": "narrow-docs", "_id": str(i)}}, {"text_field": f"Doc {i}"}]
    response = await es.bulk(operations=operations, pipeline="narrow")
    statuses = [item["index"]["status"] for item in response["items"]]
    refused = [item["index"] for item in response["items"] if item["index"]["status"] == 429]
    assert response["errors"] is True and 201 in statuses and refused
    assert set(statuses) == {201, 429}
    assert refused[0]["error"]["type"] == "status_exception"
    stored = await es.search(index="narrow-docs", query={"match_all": {}})
    assert stored["hits"]["total"]["value"] == statuses.count(201)


async def test_model_stats_show_the_ingest_of_the_pipelines_that_use_the_model(
    es: AsyncElasticsearch, world: Cluster
) -> None:
    await es.ml.put_trained_model_alias(model_id="ner", model_alias="who")
    await es.ingest.put_pipeline(id="people", processors=[NER])
    await es.ingest.put_pipeline(id="by-alias", processors=[{"inference": {"model_id": "who"}}])
    await es.ingest.put_pipeline(id="vectors", processors=[{"inference": {"model_id": "e5"}}])
    before = (await es.ml.get_trained_models_stats(model_id="ner"))["trained_model_stats"][0]
    assert before["pipeline_count"] == 2 and sorted(before["ingest"]["pipelines"]) == ["by-alias", "people"]
    assert before["ingest"]["total"] == {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}
    assert before["ingest"]["pipelines"]["by-alias"]["processors"] == [
        {"inference": {"type": "inference", "stats": {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}}}]
    assert before["inference_stats"]["inference_count"] == 0

    await es.bulk(pipeline="people", operations=[
        {"index": {"_index": "docs"}}, {"text_field": "Ann"}, {"index": {"_index": "docs"}}, {"text_field": "Bob"}])
    no_text = await es.bulk(pipeline="by-alias", operations=[{"index": {"_index": "docs"}}, {"no_text": 1}])
    assert no_text["items"][0]["index"]["error"]["reason"] == (
        "Input field [text_field] does not exist in the source document")
    after = (await es.ml.get_trained_models_stats(model_id="ner"))["trained_model_stats"][0]
    people = after["ingest"]["pipelines"]["people"]
    assert people["count"] == 2 and people["failed"] == 0 and people["current"] == 0
    assert after["ingest"]["pipelines"]["by-alias"]["failed"] == 1
    assert people["processors"][0]["inference:people"]["stats"]["count"] == 2
    assert after["ingest"]["total"]["count"] == 3
    assert after["ingest"]["total"]["time_in_millis"] == people["time_in_millis"] + after["ingest"][
        "pipelines"]["by-alias"]["time_in_millis"]
    # the document without text never reached the model: neither inferred nor a model failure
    assert after["inference_stats"]["inference_count"] == after["deployment_stats"]["inference_count"] == 2
    assert after["inference_stats"]["failure_count"] == 0
    e5 = (await es.ml.get_trained_models_stats(model_id="e5"))["trained_model_stats"][0]
    assert list(e5["ingest"]["pipelines"]) == ["vectors"] and e5["ingest"]["total"]["count"] == 0


async def test_a_second_stats_read_after_an_in_place_bulk_shows_the_new_counts(
    es: AsyncElasticsearch, world: Cluster
) -> None:
    """The built-in language model answers in place: no event and no simulated time pass,
    yet the next `_stats` shows the documents."""
    await es.ingest.put_pipeline(id="lang", processors=[{"inference": {"model_id": "lang_ident_model_1"}}])
    stats = (await es.ml.get_trained_models_stats(model_id="lang_ident_model_1"))["trained_model_stats"][0]
    assert stats["ingest"]["total"]["count"] == 0
    now = world.env.now
    await es.bulk(pipeline="lang", operations=[{"index": {"_index": "t"}}, {"text": "hello there"}])
    assert world.env.now == now
    stats = (await es.ml.get_trained_models_stats(model_id="lang_ident_model_1"))["trained_model_stats"][0]
    assert stats["ingest"]["total"]["count"] == 1
    assert stats["ingest"]["pipelines"]["lang"]["processors"][0]["inference"]["stats"]["count"] == 1


async def test_an_in_place_model_counts_what_it_answered(es: AsyncElasticsearch, world: Cluster) -> None:
    """ES's LocalModel stats: one inference per document, a cache miss for the first load,
    documents without any input field counted (and answered with a warning)."""
    lang = "lang_ident_model_1"
    never = (await es.ml.get_trained_models_stats(model_id=lang))["trained_model_stats"][0]["inference_stats"]
    assert (never["inference_count"], never["cache_miss_count"], never["missing_all_fields_count"]) == (0, 0, 0)
    await es.ml.infer_trained_model(model_id=lang, docs=[{"text": "Hello there"}, {"body": "no text"}])
    first = (await es.ml.get_trained_models_stats(model_id=lang))["trained_model_stats"][0]["inference_stats"]
    assert (first["inference_count"], first["cache_miss_count"], first["missing_all_fields_count"]) == (2, 1, 1)
    assert first["failure_count"] == 0
    await es.ingest.simulate(pipeline={"processors": [{"inference": {"model_id": lang}}]},
                             docs=[{"_source": {"text": "Bonjour"}}])
    later = (await es.ml.get_trained_models_stats(model_id=lang))["trained_model_stats"][0]["inference_stats"]
    assert (later["inference_count"], later["cache_miss_count"]) == (3, 1)
    assert list(later) == ["failure_count", "inference_count", "cache_miss_count", "missing_all_fields_count",
                           "timestamp"]
