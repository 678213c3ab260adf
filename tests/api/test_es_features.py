"""`GET /_features` and `POST /_features/_reset` through the official client: the reset leaves
what Elasticsearch's leaves (the built-in model, default endpoints, pipelines, nodes), is a
no-op the second time, refuses while a pipeline holds an inference processor, and replays."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession
from elasticsearch import ApiError, AsyncElasticsearch, AuthorizationException, BadRequestError, NotFoundError

from api.durability.recorder import Recorder, install
from api.durability.replay import replay
from api.security import installer
from api.security.users import parse_users
from cluster.builtin_models import LANG_IDENT_ID
from cluster.cluster import Cluster
from cluster.demo import FLIGHT_DELAY_MODELS, NER_MODEL, build_demo
from cluster.inference_endpoints import DEFAULT_IDS
from cluster.opensearch.demo import build_opensearch_demo
from nodes.resources import MiB
from tests.conftest import served

FLIGHT = FLIGHT_DELAY_MODELS[0]
RESET = {"features": [{"feature_name": "inference_plugin", "status": "SUCCESS"},
                      {"feature_name": "machine_learning", "status": "SUCCESS"}]}
JSON = {"content-type": "application/json", "accept": "application/json"}

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")


@pytest.fixture
def cluster() -> Cluster:
    cluster = Cluster(clock="virtual")
    build_demo(cluster)
    cluster.add_pytorch_model("my-e5", 100 * MiB, task_type="text_embedding", task_settings={"embedding_size": 8})
    return cluster


async def populate(es: AsyncElasticsearch) -> None:
    """Everything a reset meets: a second deployment of the NER model with traffic on both,
    aliases, a user endpoint, a default endpoint in use, and a pipeline without inference."""
    await es.ml.start_trained_model_deployment(model_id=NER_MODEL, deployment_id="ner-2", wait_for="started")
    for deployment in (NER_MODEL, "ner-2"):
        await es.perform_request("POST", f"/_sim/traffic/{deployment}", body={"kind": "poisson", "rate": 20},
                                 headers=JSON)
    await es.ml.put_trained_model_alias(model_id=FLIGHT, model_alias="flights")
    await es.ml.put_trained_model_alias(model_id=NER_MODEL, model_alias="ner")
    await es.inference.put(task_type="text_embedding", inference_id="e5-endpoint", inference_config={
        "service": "elasticsearch", "service_settings": {"model_id": "my-e5", "num_allocations": 1, "num_threads": 1}})
    await es.inference.inference(inference_id=".elser-2-elasticsearch", input="a fox")
    await es.ingest.put_pipeline(id="tagger", processors=[{"set": {"field": "tagged", "value": True}}])
    await es.perform_request("POST", "/_sim/clock/_advance", body={"seconds": 30}, headers=JSON)


async def test_get_features_names_the_simulated_features(es: AsyncElasticsearch) -> None:
    assert await es.features.get_features(master_timeout="10s") == {"features": [
        {"name": "inference_plugin", "description": "Inference plugin for managing inference services and inference"},
        {"name": "machine_learning", "description": "Provides anomaly detection and forecasting functionality"},
    ]}


async def test_a_reset_leaves_only_what_elasticsearch_leaves(es: AsyncElasticsearch, cluster: Cluster) -> None:
    await populate(es)
    assert set(cluster.state.assignments) == {NER_MODEL, "ner-2", "e5-endpoint", ".elser-2-elasticsearch"}
    before = cluster.log.next_seq

    assert await es.features.reset_features() == RESET

    models = await es.ml.get_trained_models()
    assert [m["model_id"] for m in models["trained_model_configs"]] == [LANG_IDENT_ID]
    stats = await es.ml.get_trained_models_stats()
    assert stats["count"] == 1 and "deployment_stats" not in stats["trained_model_stats"][0]
    with pytest.raises(NotFoundError):
        await es.ml.get_trained_models(model_id="flights")
    endpoints = await es.inference.get()
    assert sorted(e["inference_id"] for e in endpoints["endpoints"]) == sorted(DEFAULT_IDS)
    assert list(await es.ingest.get_pipeline()) == ["tagger"]
    assert cluster.state.assignments == {} and cluster.state.aliases == {}
    nodes = (await es.perform_request("GET", "/_sim/nodes", headers=JSON))["nodes"]
    assert len(nodes) == 2 and all(n["memory_used"] == 0 and n["routes"] == [] for n in nodes)

    # Routes went at once, without a stopping state, and no re-plan followed.
    events = [e for e in cluster.log.since(before) if e.cause == "reset features"]
    kinds = {e.kind for e in events}
    assert {"route_removed", "assignment_removed", "model_deleted", "feature_reset"} <= kinds
    assert "routing_state" not in kinds and "rebalance" not in kinds
    assert [e.fields["feature"] for e in events if e.kind == "feature_reset"] == ["inference_plugin",
                                                                                  "machine_learning"]

    # The traffic of the removed deployments stops rather than erroring on.
    await es.perform_request("POST", "/_sim/clock/_advance", body={"seconds": 30}, headers=JSON)
    assert cluster.serving.profile_counts() == {}

    assert await es.features.reset_features() == RESET
    assert list(cluster.state.models) == [LANG_IDENT_ID]


async def test_the_same_ids_start_again_after_a_reset(es: AsyncElasticsearch, cluster: Cluster) -> None:
    await populate(es)
    await es.features.reset_features()
    cluster.add_pytorch_model(NER_MODEL, 100 * MiB, task_type="ner")
    started = await es.ml.start_trained_model_deployment(model_id=NER_MODEL, deployment_id="ner-2",
                                                         wait_for="started")
    assert started["assignment"]["assignment_state"] == "started"
    assert (await es.ml.put_trained_model_alias(model_id=NER_MODEL, model_alias="ner"))["acknowledged"] is True
    # A default endpoint deploys again (its model put again) on its next use.
    result = await es.inference.inference(inference_id=".elser-2-elasticsearch", input="a fox")
    assert result["sparse_embedding"][0]["embedding"]
    assert ".elser-2-elasticsearch" in cluster.state.assignments


async def test_a_pipeline_with_an_inference_processor_stops_the_ml_reset(
    es: AsyncElasticsearch, cluster: Cluster
) -> None:
    await populate(es)
    await es.ingest.put_pipeline(id="langs", processors=[{"inference": {"model_id": LANG_IDENT_ID}}])
    models, deployments = set(cluster.state.models), set(cluster.state.assignments)

    with pytest.raises(ApiError) as refused:
        await es.features.reset_features()
    assert refused.value.meta.status == 500
    assert refused.value.body["error"] == {
        "root_cause": [{"type": "runtime_exception", "reason": (
            "Unable to reset machine learning feature as there are ingest pipelines still referencing trained "
            "machine learning models")}],
        "type": "runtime_exception",
        "reason": ("Unable to reset machine learning feature as there are ingest pipelines still referencing "
                   "trained machine learning models"),
    }
    # ML is as it was; the inference plugin reset beside it, as in Elasticsearch.
    assert set(cluster.state.models) == models and set(cluster.state.assignments) == deployments
    assert set(cluster.inference_endpoints.endpoints) == DEFAULT_IDS

    await es.ingest.delete_pipeline(id="langs")
    assert await es.features.reset_features() == RESET
    assert cluster.state.assignments == {}


async def test_parameters_are_checked(es: AsyncElasticsearch) -> None:
    assert await es.features.reset_features(master_timeout="1m") == RESET
    with pytest.raises(BadRequestError) as unknown:
        await es.perform_request("POST", "/_features/_reset", params={"wait_for_completion": "true"}, headers=JSON)
    assert unknown.value.body["error"]["reason"] == (
        "request [/_features/_reset] contains unrecognized parameter: [wait_for_completion]")
    with pytest.raises(BadRequestError) as malformed:
        await es.features.get_features(master_timeout="soon")
    assert malformed.value.body["error"]["type"] == "parse_exception"


async def test_the_reset_needs_manage_and_the_list_monitor_is_not_enough(cluster: Cluster) -> None:
    users = parse_users({
        "users": {"ops": {"password": "ops-pw", "roles": ["ops"]},
                  "watcher": {"password": "watcher-pw", "roles": ["monitoring_user"]}},
        "roles": {"ops": {"cluster": ["manage"]}},
    })
    async with served(cluster, [installer(users)]) as port:
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}", basic_auth=("watcher", "watcher-pw")) as client:
            for call, action in ((client.features.reset_features, "reset"), (client.features.get_features, "get")):
                with pytest.raises(AuthorizationException) as refused:
                    await call()
                assert refused.value.body["error"]["reason"] == (
                    f"action [cluster:admin/features/{action}] is unauthorized for user [watcher] with effective "
                    "roles [monitoring_user], this action is granted by the cluster privileges [manage,all]")
        assert NER_MODEL in cluster.state.assignments
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}", basic_auth=("ops", "ops-pw")) as client:
            assert await client.features.reset_features() == RESET
    assert cluster.state.assignments == {}


async def test_a_replay_of_the_journal_reaches_the_same_state() -> None:
    """Resets are journaled like any POST, the refused one too (it changed the endpoints)."""
    recorded = Cluster(clock="virtual")
    build_demo(recorded)
    recorder = Recorder(recorded, {}, [])
    async with served(recorded, [lambda app: install(app, recorder)]) as port:
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}") as es:
            await es.ml.put_trained_model(model_id="my-e5", inference_config={"text_embedding": {}},
                                          model_type="pytorch", input={"field_names": ["text_field"]})
            await es.ml.put_trained_model_definition_part(model_id="my-e5", part=0, definition="AA==",
                                                          total_definition_length=100 * MiB, total_parts=1)
            await es.ml.put_trained_model_vocabulary(model_id="my-e5", vocabulary=["[PAD]", "[UNK]"])
            await populate(es)
            await es.ingest.put_pipeline(id="langs", processors=[{"inference": {"model_id": LANG_IDENT_ID}}])
            with pytest.raises(ApiError):  # refused, yet the inference plugin's reset happened
                await es.features.reset_features()
            await es.ingest.delete_pipeline(id="langs")
            await es.features.reset_features()
            await es.perform_request("POST", "/_sim/clock/_advance", body={"seconds": 5}, headers=JSON)
        recorded_view = await view(port)

    replayed = Cluster(clock="virtual")
    build_demo(replayed)
    await replay(replayed, recorder.entries)
    assert replayed.now == recorded.now
    async with served(replayed) as port:
        assert await view(port) == recorded_view
    assert recorded_view["events"].count('"event":"feature_reset"') == 3


async def view(port: int) -> dict[str, Any]:
    """What a client sees of the cluster, and the event log as JSON lines."""
    paths = ("/_ml/trained_models", "/_ml/trained_models/_stats", "/_inference", "/_ingest/pipeline", "/_sim/nodes")
    seen: dict[str, Any] = {}
    async with ClientSession(f"http://127.0.0.1:{port}") as http:
        for path in paths:
            async with http.get(path) as answer:
                seen[path] = await answer.json()
        async with http.get("/_sim/events", params={"since": "0", "format": "jsonl"}) as answer:
            seen["events"] = await answer.text()
    return seen


async def test_opensearch_ml_commons_is_no_elasticsearch_feature(cluster: Cluster) -> None:
    build_opensearch_demo(cluster.ml_commons)
    async with served(cluster) as port, ClientSession(f"http://127.0.0.1:{port}") as http:
        async with http.get("/_plugins/_ml/profile/models") as answer:
            before = await answer.json()
        async with http.post("/_features/_reset") as answer:
            assert answer.status == 200 and await answer.json() == RESET
        async with http.get("/_plugins/_ml/profile/models") as answer:
            assert await answer.json() == before
    assert before["nodes"] and cluster.state.assignments == {}
