"""End to end with the official `elasticsearch` client: lifecycle, seeds, aliases, errors."""

from __future__ import annotations

import pytest
from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    BadRequestError,
    ConflictError,
    ElasticsearchWarning,
    NotFoundError,
)

from cluster.cluster import Cluster
from cluster.demo import FIRST_NODE_ID, FLIGHT_DELAY_MODELS, NER_MODEL, build_demo

MODEL = "my-ner"
SIZE = 300 * 2**20


async def put_pytorch_model(es: AsyncElasticsearch, model_id: str, task: str = "ner") -> None:
    await es.ml.put_trained_model(
        model_id=model_id,
        model_type="pytorch",
        inference_config={task: {}},
        input={"field_names": ["text_field"]},
    )
    await es.ml.put_trained_model_definition_part(
        model_id=model_id, part=0, definition="AAAA", total_definition_length=SIZE, total_parts=1
    )
    await es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=["[PAD]", "[UNK]", "hello"])


def error_of(exc: ApiError) -> tuple[int, str, str]:
    return exc.meta.status, exc.body["error"]["type"], exc.body["error"]["reason"]


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    return cluster


async def test_full_lifecycle(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_pytorch_model(es, MODEL)
    got = await es.ml.get_trained_models(model_id=MODEL, include="definition_status")
    assert got["count"] == 1 and got["trained_model_configs"][0]["fully_defined"] is True
    assert got["trained_model_configs"][0]["model_size_bytes"] == SIZE

    started = await es.ml.start_trained_model_deployment(model_id=MODEL, wait_for="starting")
    assert started["assignment"]["assignment_state"] == "starting"
    await es.ml.stop_trained_model_deployment(model_id=MODEL)
    for wait_for in ("started", "fully_allocated"):
        started = await es.ml.start_trained_model_deployment(model_id=MODEL, wait_for=wait_for, queue_capacity=1024)
        assignment = started["assignment"]
        assert assignment["assignment_state"] == "started"
        assert assignment["routing_table"]["node-a"]["routing_state"] == "started"
        assert assignment["task_parameters"]["queue_capacity"] == 1024
        if wait_for == "started":
            assert (await es.ml.stop_trained_model_deployment(model_id=MODEL))["stopped"] is True

    stats = await es.ml.get_trained_models_stats(model_id=MODEL)
    deployment = stats["trained_model_stats"][0]["deployment_stats"]
    assert deployment["allocation_status"] == {"allocation_count": 1, "target_allocation_count": 1,
                                               "state": "fully_allocated"}
    assert deployment["nodes"][0]["routing_state"] == {"routing_state": "started"}

    up = await es.ml.update_trained_model_deployment(model_id=MODEL, number_of_allocations=3)
    assert up["assignment"]["routing_table"]["node-a"]["target_allocations"] == 3
    world.advance(5)
    stats = await es.ml.get_trained_models_stats(model_id=MODEL)
    assert stats["trained_model_stats"][0]["deployment_stats"]["allocation_status"]["allocation_count"] == 3
    down = await es.ml.update_trained_model_deployment(model_id=MODEL, number_of_allocations=1)
    assert down["assignment"]["task_parameters"]["number_of_allocations"] == 1

    await es.ml.put_trained_model_alias(model_id=MODEL, model_alias="ner-live")
    result = await es.ml.infer_trained_model(model_id="ner-live", docs=[{"text_field": "Ann lives in Paris"}])
    entities = result["inference_results"][0]["entities"]
    assert [e["entity"] for e in entities] == ["Ann", "Paris"]

    await put_pytorch_model(es, "my-ner-v-two")
    await es.ml.start_trained_model_deployment(model_id="my-ner-v-two")
    await es.ml.put_trained_model_alias(model_id="my-ner-v-two", model_alias="ner-live", reassign=True)
    got = await es.ml.get_trained_models(model_id="ner-live")
    assert got["trained_model_configs"][0]["model_id"] == "my-ner-v-two"
    assert got["trained_model_configs"][0]["metadata"]["model_aliases"] == ["ner-live"]
    await es.ml.delete_trained_model_alias(model_id="my-ner-v-two", model_alias="ner-live")

    assert (await es.ml.stop_trained_model_deployment(model_id="my-ner*"))["stopped"] is True
    assert world.state.assignments == {}
    await es.ml.delete_trained_model(model_id=MODEL)
    await es.ml.delete_trained_model(model_id="my-ner-v-two")
    left = await es.ml.get_trained_models()
    assert [m["model_id"] for m in left["trained_model_configs"]] == ["lang_ident_model_1"]  # built in


@pytest.fixture
def demo(cluster: Cluster) -> Cluster:
    build_demo(cluster)
    return cluster


async def test_seed_000_to_002_create_and_reassign_alias(es: AsyncElasticsearch, demo: Cluster) -> None:
    old, new = FLIGHT_DELAY_MODELS
    response = await es.ml.put_trained_model_alias(model_id=old, model_alias="flight_delay_model")
    assert response.body == {"acknowledged": True}
    response = await es.ml.put_trained_model_alias(model_id=new, model_alias="flight_delay_model", reassign=True)
    assert response.body == {"acknowledged": True}
    assert demo.state.aliases == {"flight_delay_model": new}
    result = await es.ml.infer_trained_model(model_id="flight_delay_model", docs=[{"DistanceKilometers": 800}])
    assert isinstance(result["inference_results"][0]["FlightDelayMin_prediction"], float)


async def test_seed_003_update_to_four_allocations(es: AsyncElasticsearch, demo: Cluster) -> None:
    response = await es.ml.update_trained_model_deployment(model_id=NER_MODEL, body={"number_of_allocations": 4})
    assignment = response["assignment"]
    params = assignment["task_parameters"]
    assert params["model_id"] == NER_MODEL
    assert params["model_bytes"] == 265632637
    assert (params["threads_per_allocation"], params["number_of_allocations"], params["queue_capacity"]) == (1, 4, 1024)
    assert assignment["routing_table"] == {
        FIRST_NODE_ID: {"current_allocations": 1, "target_allocations": 4, "routing_state": "started", "reason": ""}
    }
    assert assignment["assignment_state"] == "started"
    assert assignment["start_time"].endswith("Z")


async def test_alias_rules(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_pytorch_model(es, "first")
    await put_pytorch_model(es, "second")
    await put_pytorch_model(es, "emb", task="text_embedding")
    with pytest.raises(NotFoundError) as missing:
        await es.ml.put_trained_model_alias(model_id="nope", model_alias="alias")
    assert error_of(missing.value)[2] == "No known trained model with model_id [nope]"
    with pytest.raises(BadRequestError) as bad:
        await es.ml.put_trained_model_alias(model_id="first", model_alias="alias1")
    assert error_of(bad.value)[1] == "action_request_validation_exception"
    assert "cannot end with numbers" in error_of(bad.value)[2]
    with pytest.raises(BadRequestError) as same:
        await es.ml.put_trained_model_alias(model_id="first", model_alias="second")
    assert error_of(same.value)[2] == "model_alias cannot be the same as an existing trained model_id"

    await es.ml.put_trained_model_alias(model_id="first", model_alias="alias")
    with pytest.raises(BadRequestError) as exists:
        await es.ml.put_trained_model_alias(model_id="second", model_alias="alias")
    assert "Set parameter [reassign] to [true]" in error_of(exists.value)[2]
    with pytest.raises(BadRequestError) as task:
        await es.ml.put_trained_model_alias(model_id="emb", model_alias="alias", reassign=True)
    assert "with inference config type [text_embedding]" in error_of(task.value)[2]

    await es.ml.start_trained_model_deployment(model_id="first")
    with pytest.raises(BadRequestError) as undeployed:
        await es.ml.put_trained_model_alias(model_id="second", model_alias="alias", reassign=True)
    assert error_of(undeployed.value)[2].endswith("as it is not yet deployed")

    await es.ingest.put_pipeline(id="p", processors=[{"inference": {"model_id": "alias"}}])
    with pytest.raises(ConflictError) as used:
        await es.ml.delete_trained_model_alias(model_id="first", model_alias="alias")
    assert error_of(used.value)[2] == "Cannot delete model_alias [alias] as it is still referenced by ingest processors"
    with pytest.raises(ConflictError) as stop:
        await es.ml.stop_trained_model_deployment(model_id="first")
    assert "has a model_alias [alias]" in error_of(stop.value)[2]
    with pytest.raises(ConflictError) as wrong_model:
        await es.ml.delete_trained_model_alias(model_id="second", model_alias="alias")
    assert error_of(wrong_model.value)[2] == "model_alias [alias] does not refer to provided model_id [second]"
    await es.ingest.delete_pipeline(id="p")
    await es.ml.delete_trained_model_alias(model_id="first", model_alias="alias")
    with pytest.raises(NotFoundError) as gone:
        await es.ml.delete_trained_model_alias(model_id="first", model_alias="alias")
    assert error_of(gone.value)[2] == "model_alias [alias] could not be found"


async def test_alias_warning_header(es: AsyncElasticsearch, world: Cluster) -> None:
    for model_id, fields in (("reg-a", ["a", "b", "c", "d"]), ("reg-b", ["x", "y"])):
        await es.ml.put_trained_model(
            model_id=model_id, inference_config={"regression": {}}, input={"field_names": fields},
            definition={"trained_model": {"tree": {"feature_names": fields,
                                                   "tree_structure": [{"node_index": 0, "leaf_value": 1}]}}},
        )
    await es.ml.put_trained_model_alias(model_id="reg-a", model_alias="reg")
    with pytest.warns(ElasticsearchWarning, match="differ significantly"):
        await es.ml.put_trained_model_alias(model_id="reg-b", model_alias="reg", reassign=True)


async def test_deployment_errors(es: AsyncElasticsearch, world: Cluster) -> None:
    with pytest.raises(NotFoundError) as unknown:
        await es.ml.get_trained_models(model_id="missing")
    assert error_of(unknown.value) == (404, "resource_not_found_exception", "Could not find trained model [missing]")
    await put_pytorch_model(es, MODEL)
    with pytest.raises(ConflictError) as not_deployed:
        await es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": "x"}])
    assert error_of(not_deployed.value)[2] == f"Trained model deployment [{MODEL}] is not allocated to any nodes"
    with pytest.raises(NotFoundError) as no_deployment:
        await es.ml.update_trained_model_deployment(model_id=MODEL, number_of_allocations=2)
    assert error_of(no_deployment.value)[2] == f"No known model deployment with id [{MODEL}]"
    with pytest.raises(BadRequestError) as invalid:
        await es.ml.start_trained_model_deployment(model_id=MODEL, threads_per_allocation=3, queue_capacity=0)
    assert error_of(invalid.value)[2] == (
        "Validation Failed: 1: [threads_per_allocation] must be a power of 2 less than or equal to 32;"
        "2: [queue_capacity] must be a positive integer;"
    )
    await es.ml.start_trained_model_deployment(model_id=MODEL)
    with pytest.raises(BadRequestError) as duplicate:
        await es.ml.start_trained_model_deployment(model_id=MODEL)
    assert "an existing deployment with the same id [my-ner] exist" in error_of(duplicate.value)[2]
    with pytest.raises(ConflictError) as deployed:
        await es.ml.delete_trained_model(model_id=MODEL)
    assert error_of(deployed.value)[2].endswith("as it is currently deployed; use force to delete the model")
    with pytest.raises(ApiError) as too_many:
        await es.ml.update_trained_model_deployment(model_id=MODEL, number_of_allocations=64)
    assert too_many.value.meta.status == 429
    with pytest.raises(NotFoundError):
        await es.ml.stop_trained_model_deployment(model_id="nothing*", allow_no_match=False)
    assert (await es.ml.stop_trained_model_deployment(model_id="nothing*"))["stopped"] is True
    await es.ml.delete_trained_model(model_id=MODEL, force=True)
    assert list(world.state.models) == ["lang_ident_model_1"]


async def test_deprecated_infer_route_warns(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_pytorch_model(es, "emb", task="text_embedding")
    await es.ml.start_trained_model_deployment(model_id="emb")
    with pytest.warns(ElasticsearchWarning, match="deployment/_infer] is deprecated"):
        response = await es.perform_request(
            "POST", "/_ml/trained_models/emb/deployment/_infer",
            headers={"content-type": "application/json", "accept": "application/json"},
            body={"docs": [{"text_field": "hello"}]},
        )
    assert "is deprecated" in response.meta.headers["Warning"]
    assert len(response["inference_results"][0]["predicted_value"]) == 384


async def test_cat_and_stats_through_the_client(es: AsyncElasticsearch, demo: Cluster) -> None:
    rows = await es.cat.ml_trained_models(format="json", h="id,type", s="id:desc")
    assert [r["id"] for r in rows.body] == ["lang_ident_model_1", *reversed(FLIGHT_DELAY_MODELS), NER_MODEL]
    stats = await es.ml.get_trained_models_stats()
    assert stats["count"] == 4  # the built-in lang_ident_model_1 counts
    by_id = {s["model_id"]: s for s in stats["trained_model_stats"]}
    assert "deployment_stats" not in by_id[FLIGHT_DELAY_MODELS[0]]
    assert by_id[NER_MODEL]["deployment_stats"]["queue_capacity"] == 1024
