"""The inference API with the `elasticsearch` and `elser` services, through the official
client: endpoints start deployments, infer through them, rescale and stop with them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from elasticsearch import AsyncElasticsearch, BadRequestError, ConflictError, ElasticsearchWarning, NotFoundError

from cluster.cluster import Cluster
from cluster.inference_endpoints import DEFAULT_IDS, ELASTIC_MODEL_BYTES, ELSER_MODEL_X86
from nodes.resources import MiB
from tests.conftest import served


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    cluster.add_pytorch_model("my-e5", 100 * MiB, task_type="text_embedding", task_settings={"embedding_size": 8})
    cluster.add_pytorch_model("my-ranker", 100 * MiB, task_type="text_similarity")
    cluster.add_pytorch_model("my-ner", 100 * MiB, task_type="ner")
    return cluster


async def user_endpoints(es: AsyncElasticsearch) -> list[str]:
    listed = await es.inference.get()
    return [e["inference_id"] for e in listed["endpoints"] if e["inference_id"] not in DEFAULT_IDS]


def reason(exc: BadRequestError | NotFoundError | ConflictError) -> tuple[str, str]:
    return exc.body["error"]["type"], exc.body["error"]["reason"]


async def test_put_elasticsearch_endpoint_starts_a_deployment(es: AsyncElasticsearch, world: Cluster) -> None:
    created = await es.inference.put(task_type="text_embedding", inference_id="e5-endpoint", inference_config={
        "service": "elasticsearch", "service_settings": {"model_id": "my-e5", "num_allocations": 2, "num_threads": 1}})
    assert created == {
        "inference_id": "e5-endpoint", "task_type": "text_embedding", "service": "elasticsearch",
        "service_settings": {"num_allocations": 2, "num_threads": 1, "model_id": "my-e5", "dimensions": 8,
                             "similarity": "cosine", "element_type": "float"},
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }
    deployment = world.assignment("e5-endpoint")
    assert deployment.model_id == "my-e5" and deployment.state == "started"
    assert deployment.params.number_of_allocations == 2

    result = await es.inference.inference(inference_id="e5-endpoint", input=["hello", "world"])
    vectors = [entry["embedding"] for entry in result["text_embedding"]]
    assert len(vectors) == 2 and all(len(v) == 8 for v in vectors) and vectors[0] != vectors[1]
    typed = await es.inference.text_embedding(inference_id="e5-endpoint", input="hello")
    assert typed["text_embedding"][0]["embedding"] == vectors[0]
    stats = await es.ml.get_trained_models_stats(model_id="my-e5")
    assert stats["trained_model_stats"][0]["deployment_stats"]["inference_count"] == 3

    assert await user_endpoints(es) == ["e5-endpoint"]
    sparse = await es.inference.get(task_type="sparse_embedding", inference_id="_all")
    assert [e["inference_id"] for e in sparse["endpoints"]] == [".elser-2-elasticsearch"]
    assert (await es.inference.get(inference_id="e5-endpoint"))["endpoints"][0] == created

    updated = await es.inference.update(inference_id="e5-endpoint",
                                        inference_config={"service_settings": {"num_allocations": 3}})
    assert updated["service_settings"]["num_allocations"] == 3
    assert world.assignment("e5-endpoint").params.number_of_allocations == 3

    deleted = await es.inference.delete(inference_id="e5-endpoint")
    assert deleted["acknowledged"] is True
    assert "e5-endpoint" not in world.state.assignments
    with pytest.raises(NotFoundError) as missing:
        await es.inference.get(inference_id="e5-endpoint")
    assert reason(missing.value) == ("resource_not_found_exception", "Inference endpoint not found [e5-endpoint]")


async def test_elser_service_puts_elastics_model_and_answers_sparse(es: AsyncElasticsearch, world: Cluster) -> None:
    with pytest.warns(ElasticsearchWarning, match=r"The \[elser\] service is deprecated"):
        created = await es.inference.put_elser(
            task_type="sparse_embedding", elser_inference_id="my-elser",
            service="elser", service_settings={"num_threads": 1, "adaptive_allocations": {
                "enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}})
    assert created["service"] == "elasticsearch"
    assert created["service_settings"] == {"num_threads": 1, "model_id": ELSER_MODEL_X86, "adaptive_allocations": {
        "enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}}
    model = world.state.models[ELSER_MODEL_X86]
    assert model.model_bytes == ELASTIC_MODEL_BYTES[ELSER_MODEL_X86]
    assert world.assignment("my-elser").adaptive_allocations["enabled"] is True

    result = await es.inference.sparse_embedding(inference_id="my-elser", input="Quick brown fox")
    (entry,) = result["sparse_embedding"]
    assert entry["is_truncated"] is False and set(entry["embedding"]) == {"quick", "brown", "fox"}
    with pytest.raises(BadRequestError) as wrong:
        await es.inference.inference(task_type="text_embedding", inference_id="my-elser", input="x")
    assert reason(wrong.value)[1] == ("Incompatible task_type, the requested type [text_embedding] does not match "
                                      "the model type [sparse_embedding]")


async def test_put_elasticsearch_helper_and_rerank(es: AsyncElasticsearch, world: Cluster) -> None:
    created = await es.inference.put_elasticsearch(
        task_type="rerank", elasticsearch_inference_id="ranker", service="elasticsearch",
        service_settings={"model_id": "my-ranker", "num_allocations": 1, "num_threads": 2})
    assert created["task_settings"] == {"return_documents": True} and "chunking_settings" not in created
    ranked = await es.inference.rerank(inference_id="ranker", query="fox", input=["a", "b", "c"], top_n=2)
    scores = [r["relevance_score"] for r in ranked["rerank"]]
    assert len(scores) == 2 and scores == sorted(scores, reverse=True)
    assert all(r["text"] == ["a", "b", "c"][r["index"]] for r in ranked["rerank"])
    with pytest.raises(BadRequestError) as no_query:
        await es.inference.inference(inference_id="ranker", input=["a"])
    assert reason(no_query.value)[1] == "Validation Failed: 1: Field [query] cannot be null for task type [rerank];"


async def test_put_errors_leave_nothing_behind(es: AsyncElasticsearch, world: Cluster) -> None:
    def config(**settings: object) -> dict[str, object]:
        return {"service": "elasticsearch", "service_settings": settings}

    cases = [
        ("text_embedding", {"service_settings": {}}, "Model configuration is missing a service"),
        ("text_embedding", {"service": "openai2", "service_settings": {}}, "Unknown service [openai2]"),
        ("completion", config(model_id="my-e5", num_threads=1, num_allocations=1),
         "The [elasticsearch] service does not support task type [completion]"),
        ("text_embedding", config(model_id="my-e5"),
         "Validation Failed: 1: [service_settings] does not contain the required setting [num_threads];2: "
         "[service_settings] does not contain one of the required settings [num_allocations, adaptive_allocations];"),
        ("text_embedding", config(model_id="my-e5", num_threads=1, num_allocations=0),
         "Validation Failed: 1: [service_settings] Invalid value [0]. [num_allocations] must be a positive integer;2: "
         "[service_settings] does not contain one of the required settings [num_allocations, adaptive_allocations];"),
        ("text_embedding", config(model_id="ghost", num_threads=1, num_allocations=1),
         "Error parsing request config, model id does not match any models available on this platform. Was [ghost]. "
         "You may need to load it into the cluster using eland."),
        ("sparse_embedding", config(model_id="my-e5", num_threads=1, num_allocations=1),
         "Deployed model [my-e5] with type [text_embedding] does not match the requested task type [sparse_embedding]"),
        ("text_embedding", config(model_id="my-ner", num_threads=1, num_allocations=1),
         "Deployed model [my-ner] has type [ner] which does not map to any supported task types"),
        ("text_embedding", config(model_id="my-e5", num_threads=1, num_allocations=1, colour="red"),
         "Model configuration contains settings [{colour=red}] unknown to the [elasticsearch] service"),
        ("text_embedding", config(num_threads=1, num_allocations=1),
         "Error parsing service settings, model_id must be provided"),
        ("text_embedding", {**config(model_id="my-e5", num_threads=1, num_allocations=1), "task_settings": [1]},
         "field [task_settings] is not of the expected type. The value [[1]] cannot be converted to a [Map]"),
    ]
    for task_type, body, message in cases:
        with pytest.raises(BadRequestError) as bad:
            await es.inference.put(task_type=task_type, inference_id="broken", inference_config=body)
        assert reason(bad.value)[1] == message, task_type
    with pytest.raises(BadRequestError) as unknown_type:
        await es.inference.put(task_type="summaries", inference_id="broken", inference_config=config())
    assert reason(unknown_type.value) == ("status_exception", "Unknown task_type [summaries]")
    assert world.state.assignments == {} and await user_endpoints(es) == []
    # Too big to place: the start's 429, and no endpoint.
    with pytest.raises(Exception) as full:
        await es.inference.put(task_type="text_embedding", inference_id="huge", inference_config=config(
            model_id="my-e5", num_threads=16, num_allocations=8))
    assert full.value.meta.status == 429  # type: ignore[attr-defined]
    assert await user_endpoints(es) == []


async def test_duplicates_pipelines_and_delete_rules(es: AsyncElasticsearch, http: TestClient, world: Cluster) -> None:
    body = {"service": "elasticsearch", "service_settings": {"model_id": "my-e5", "num_allocations": 1,
                                                            "num_threads": 1}}
    await es.inference.put(task_type="text_embedding", inference_id="emb", inference_config=body)
    with pytest.raises(BadRequestError) as again:
        await es.inference.put(task_type="text_embedding", inference_id="emb", inference_config=body)
    assert reason(again.value) == ("resource_already_exists_exception", "Inference endpoint [emb] already exists")
    pipeline = {"processors": [
        {"inference": {"model_id": "emb", "input_output": {"input_field": "t", "output_field": "v"}}}]}
    simulated = await es.ingest.simulate(pipeline=pipeline, docs=[{"_source": {"t": "hi"}}])
    assert len(simulated["docs"][0]["doc"]["_source"]["v"]) == 8
    # A stored pipeline may name the endpoint (ES 8.13+), and ingest runs it on its deployment.
    await es.ingest.put_pipeline(id="vectors", processors=pipeline["processors"])
    with pytest.raises(NotFoundError) as unknown:
        await es.ingest.put_pipeline(id="ghosts", processors=[{"inference": {"model_id": "ghost"}}])
    assert reason(unknown.value)[1] == "Could not find trained model [ghost]" and "ghosts" not in world.state.pipelines
    written = await es.bulk(pipeline="vectors", operations=[{"index": {"_index": "texts", "_id": "1"}}, {"t": "hello"}])
    assert written["errors"] is False
    stored = (await es.get(index="texts", id="1"))["_source"]
    assert len(stored["v"]) == 8 and stored["model_id"] == "emb"
    served = (await es.ml.get_trained_models_stats(model_id="my-e5"))["trained_model_stats"][0]
    assert served["deployment_stats"]["inference_count"] == 2  # the simulate and the bulk
    assert served["ingest"]["pipelines"]["vectors"]["count"] == 1
    with pytest.raises(ConflictError) as used:
        await es.inference.delete(inference_id="emb")
    assert reason(used.value)[1] == ("Inference endpoint emb is referenced by pipelines and cannot be deleted. Use "
                                     "`force` to delete it anyway, or use `dry_run` to list the pipelines that "
                                     "reference it.")
    dry = await es.inference.delete(inference_id="emb", dry_run=True)
    assert dry == {"acknowledged": False, "pipelines": ["vectors"], "indexes": []}
    with pytest.raises(BadRequestError) as mismatch:
        await es.inference.delete(task_type="sparse_embedding", inference_id="emb")
    assert reason(mismatch.value)[1] == ("Requested task type [sparse_embedding] does not match the inference "
                                         "endpoint's task type [text_embedding]")
    assert (await es.inference.delete(inference_id="emb", force=True))["acknowledged"] is True
    assert "emb" not in world.state.assignments

    empty = await http.post("/_inference/ghost", json={"input": "x"})
    assert empty.status == 404
    no_input = await http.post("/_inference/emb", json={})
    assert no_input.status == 400
    assert (await no_input.json())["error"]["reason"] == "Validation Failed: 1: Field [input] cannot be null;"


async def test_a_start_that_times_out_keeps_the_endpoint(es: AsyncElasticsearch, world: Cluster) -> None:
    world.add_pytorch_model("slow", 100 * MiB, task_type="text_embedding")
    body = {"service": "elasticsearch", "service_settings": {"model_id": "slow", "num_allocations": 1,
                                                            "num_threads": 1}}
    with pytest.raises(Exception) as late:
        await es.inference.put(task_type="text_embedding", inference_id="slow-ep", inference_config=body,
                               timeout="1ms")
    assert late.value.meta.status == 408  # type: ignore[attr-defined]
    assert await user_endpoints(es) == ["slow-ep"]
    world.run_until(world.fully_allocated("slow-ep"), timeout=600)
    result = await es.inference.text_embedding(inference_id="slow-ep", input="now")
    assert len(result["text_embedding"][0]["embedding"]) == 384


async def test_default_endpoints_deploy_on_first_use(es: AsyncElasticsearch, world: Cluster) -> None:
    (elser,) = (await es.inference.get(inference_id=".elser-2-elasticsearch"))["endpoints"]
    assert elser["service_settings"] == {"num_threads": 1, "model_id": ELSER_MODEL_X86, "adaptive_allocations": {
        "enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}}
    assert ".elser-2-elasticsearch" not in world.state.assignments
    result = await es.inference.sparse_embedding(inference_id=".elser-2-elasticsearch", input="hello there")
    assert set(result["sparse_embedding"][0]["embedding"]) == {"hello", "there"}
    assert world.assignment(".elser-2-elasticsearch").model_id == ELSER_MODEL_X86
    with pytest.raises(BadRequestError) as reserved:
        await es.inference.put(task_type="sparse_embedding", inference_id=".elser-2-elasticsearch",
                               inference_config={"service": "elasticsearch", "service_settings": {
                                   "model_id": ELSER_MODEL_X86, "num_threads": 1, "num_allocations": 1}})
    assert reason(reserved.value) == (
        "action_request_validation_exception",
        "Validation Failed: 1: Invalid inference_id; '.elser-2-elasticsearch' can contain lowercase alphanumeric "
        "(a-z and 0-9), hyphens or underscores; must start and end with alphanumeric;")
    with pytest.raises(BadRequestError) as kept:
        await es.inference.delete(inference_id=".elser-2-elasticsearch")
    assert reason(kept.value)[1] == ("[.elser-2-elasticsearch] is a reserved inference endpoint. Use the force=true "
                                     "query parameter to delete the inference endpoint.")
    await es.inference.delete(inference_id=".elser-2-elasticsearch", force=True)
    assert ".elser-2-elasticsearch" not in world.state.assignments


async def test_model_variants_follow_the_nodes() -> None:
    bare = Cluster(clock="virtual")  # no ML node: the platform-agnostic variants
    async with served(bare) as port:
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(BadRequestError) as x86:
                await client.inference.put(task_type="sparse_embedding", inference_id="e", inference_config={
                    "service": "elasticsearch", "service_settings": {
                        "model_id": ELSER_MODEL_X86, "num_threads": 1, "num_allocations": 1}})
    assert reason(x86.value) == ("illegal_argument_exception", "Error parsing request config, model id does not "
                                 f"match any models available on this platform. Was [{ELSER_MODEL_X86}]. You may "
                                 "need to use a platform agnostic model.")


async def test_chunking_settings(es: AsyncElasticsearch, world: Cluster) -> None:
    def body(chunking: dict[str, object]) -> dict[str, object]:
        return {"service": "elasticsearch", "chunking_settings": chunking,
                "service_settings": {"model_id": "my-e5", "num_allocations": 1, "num_threads": 1}}

    created = await es.inference.put(task_type="text_embedding", inference_id="words", inference_config=body(
        {"strategy": "word", "max_chunk_size": 100, "overlap": 20}))
    assert created["chunking_settings"] == {"strategy": "word", "max_chunk_size": 100, "overlap": 20}
    cases = [
        ({"strategy": "paragraph"}, "illegal_argument_exception", "Invalid chunkingStrategy paragraph"),
        ({"strategy": "sentence", "max_chunk_size": 100, "overlap": 5}, "validation_exception",
         "Validation Failed: 1: Sentence based chunking settings can not have the following settings: [overlap];"),
        ({"strategy": "word", "max_chunk_size": 5, "overlap": 1}, "validation_exception",
         "Validation Failed: 1: [chunking_settings] Invalid value [5.0]. [max_chunk_size] must be a greater than or "
         "equal to [10.0];"),
        ({"strategy": "word", "max_chunk_size": 100}, "validation_exception",
         "Validation Failed: 1: [chunking_settings] does not contain the required setting [overlap];"),
    ]
    for chunking, kind, message in cases:
        with pytest.raises(BadRequestError) as bad:
            await es.inference.put(task_type="text_embedding", inference_id="chunky", inference_config=body(chunking))
        assert reason(bad.value) == (kind, message)
    assert await user_endpoints(es) == ["words"]
