"""The APIs around ML nodes: `_ml/info`, `_ml/memory/_stats`, `_nodes`, `_nodes/stats`,
`_cluster/health` and `_cat/nodes`, through the official client (raw HTTP where it has none)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from elasticsearch import AsyncElasticsearch, BadRequestError

from cluster.cluster import Cluster
from cluster.settings import ClusterSettings
from nodes.resources import GiB, MiB
from tests.conftest import served

MODEL_BYTES = 300 * MiB


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    cluster.add_node("ml-2", memory_gb=16, processors=4, node_id="node-b", zone="z2")
    return cluster


def ml_memory(memory_gb: int) -> int:
    return memory_gb * GiB * 30 // 100


async def test_ml_info_limits_follow_the_nodes(es: AsyncElasticsearch, world: Cluster) -> None:
    info = await es.ml.info()
    limits = info["limits"]
    assert limits["total_ml_processors"] == 20
    assert limits["max_single_ml_node_processors"] == 16
    assert limits["total_ml_memory"] == f"{(ml_memory(32) + ml_memory(16)) // MiB}mb"
    assert limits["effective_max_model_memory_limit"] == f"{(ml_memory(32) - 50 * MiB) // MiB}mb"
    assert "max_model_memory_limit" not in limits
    assert info["upgrade_mode"] is False and info["native_code"]["version"]
    assert info["defaults"]["anomaly_detectors"]["model_memory_limit"] == "1gb"
    assert info["defaults"]["model_platform_variant"] == "linux-x86_64"
    assert info["defaults"]["datafeeds"] == {"scroll_size": 1000}
    world.add_node("ml-3", memory_gb=64, processors=32)
    assert (await es.ml.info())["limits"]["max_single_ml_node_processors"] == 32


async def test_ml_info_without_nodes_and_with_autoscaling() -> None:
    bare = Cluster(clock="virtual")
    async with served(bare) as port:
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}") as es:
            info = await es.ml.info()
    assert info["limits"] == {"total_ml_memory": "0mb"}
    assert info["defaults"]["model_platform_variant"] == "platform_agnostic"
    scaling = Cluster(ClusterSettings(max_lazy_ml_nodes=2, max_ml_node_size=64 * GiB), clock="virtual")
    async with served(scaling) as port:
        async with AsyncElasticsearch(f"http://127.0.0.1:{port}") as es:
            limits = (await es.ml.info())["limits"]
    assert limits["effective_max_model_memory_limit"] == f"{(ml_memory(64) - 50 * MiB) // MiB}mb"


async def test_memory_stats_break_down_each_node(es: AsyncElasticsearch, world: Cluster) -> None:
    stats = await es.ml.get_memory_stats()
    assert stats["_nodes"] == {"total": 2, "successful": 2, "failed": 0}
    idle = stats["nodes"]["node-a"]
    assert idle["mem"]["total_in_bytes"] == 32 * GiB
    assert idle["mem"]["ml"]["max_in_bytes"] == ml_memory(32)
    assert idle["mem"]["ml"]["native_inference_in_bytes"] == 0
    assert idle["mem"]["ml"]["native_code_overhead_in_bytes"] == 0
    assert idle["attributes"]["ml.machine_memory"] == str(32 * GiB)

    world.add_pytorch_model("e5", MODEL_BYTES)
    world.start_deployment("e5")
    node = world.assignment("e5").routes
    (loaded,) = node
    stats = await es.ml.get_memory_stats(node_id=loaded, human=True)
    assert list(stats["nodes"]) == [loaded]
    ml = stats["nodes"][loaded]["mem"]["ml"]
    assert ml["native_inference_in_bytes"] == world.state.usage(loaded).memory_used > MODEL_BYTES
    assert ml["native_code_overhead_in_bytes"] == 30 * MiB and ml["native_code_overhead"] == "30mb"
    by_name = await es.ml.get_memory_stats(node_id="ml-2")
    assert list(by_name["nodes"]) == ["node-b"]


async def test_nodes_info_and_stats_show_ml_attributes(es: AsyncElasticsearch, world: Cluster) -> None:
    info = await es.nodes.info()
    node = info["nodes"]["node-b"]
    assert node["roles"] == ["ml", "remote_cluster_client"]
    attributes = node["attributes"]
    assert attributes["ml.machine_memory"] == str(16 * GiB)
    assert attributes["ml.allocated_processors"] == "4"
    assert attributes["ml.allocated_processors_double"] == "4.0"
    assert int(attributes["ml.max_jvm_size"]) == node["jvm"]["mem"]["heap_max_in_bytes"]
    assert attributes["ml.config_version"] and attributes["zone"] == "z2"
    assert list((await es.nodes.info(node_id="node-a"))["nodes"]) == ["node-a"]
    only_os = await es.nodes.info(metric="os")
    assert "jvm" not in only_os["nodes"]["node-a"] and only_os["nodes"]["node-a"]["os"]["allocated_processors"] == 16

    stats = await es.nodes.stats()
    assert stats["nodes"]["node-a"]["os"]["mem"]["total_in_bytes"] == 32 * GiB
    assert stats["nodes"]["node-a"]["ingest"] == {"total": {"count": 0, "time_in_millis": 0, "current": 0,
                                                             "failed": 0}, "pipelines": {}}
    ingest_only = await es.nodes.stats(node_id="node-b", metric="ingest")
    assert list(ingest_only["nodes"]["node-b"]) == ["timestamp", "name", "transport_address", "host", "ip", "roles",
                                                    "attributes", "ingest"]
    with pytest.raises(BadRequestError) as bad:
        await es.nodes.stats(metric="nonsense")
    assert "unrecognized metric" in bad.value.body["error"]["reason"]


async def test_cluster_health_answers_as_elasticsearch(es: AsyncElasticsearch, http: TestClient,
                                                        world: Cluster) -> None:
    health = await es.cluster.health()
    assert health["status"] == "green" and health["number_of_nodes"] == 2 and health["timed_out"] is False
    response = await http.get("/_cluster/health")
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    settings = await http.get("/_cluster/settings")
    assert "X-Elastic-Product" not in settings.headers
    waited = await http.get("/_cluster/health", params={"wait_for_nodes": ">=3"})
    assert waited.status == 408 and (await waited.json())["timed_out"] is True
    assert (await http.get("/_cluster/health", params={"wait_for_nodes": "2"})).status == 200
    bad = await http.get("/_cluster/health", params={"wait_for_status": "blue"})
    assert bad.status == 400
    await es.index(index="docs", id="1", document={"a": 1})
    assert (await es.cluster.health(index="docs"))["active_shards"] == 1
    missing = await http.get("/_cluster/health/nowhere")
    assert missing.status == 408 and (await missing.json())["status"] == "red"


async def test_cat_nodes(es: AsyncElasticsearch, world: Cluster) -> None:
    text = await es.cat.nodes(v=True, h="name,node.role,master,ram.max", bytes="gb")
    lines = str(text).splitlines()
    assert lines[0].split() == ["name", "node.role", "master", "ram.max"]
    assert lines[1].split() == ["ml-1", "lr", "*", "32"]
    assert lines[2].split() == ["ml-2", "lr", "-", "16"]
    rows = await es.cat.nodes(format="json", h="id,n,r", full_id=True)
    # A column asked for by an alias is keyed by that alias (RestTable's display header).
    assert [dict(r) for r in rows] == [{"id": "node-a", "n": "ml-1", "r": "lr"},
                                       {"id": "node-b", "n": "ml-2", "r": "lr"}]
    with pytest.raises(BadRequestError):
        await es.cat.nodes(h="nope")
