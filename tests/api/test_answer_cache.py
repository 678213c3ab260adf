"""Stats answers are kept only while the cluster shows the same: any logged change, any move
of simulated time and any difference of the request gives a fresh answer."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cluster.cluster import Cluster

STATS = "/_ml/trained_models/_stats"
M_STATS = "/_ml/trained_models/m/_stats"


def deploy(cluster: Cluster) -> None:
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 10_000_000)
    cluster.start_deployment("m", number_of_allocations=1)


async def stats_of(http: TestClient, path: str = STATS, **headers: str) -> dict:
    response = await http.get(path, headers=headers)
    assert response.status == 200
    return await response.json()


async def test_a_repeated_read_answers_the_same_bytes(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    first = await (await http.get(STATS + "?pretty")).read()
    second = await (await http.get(STATS + "?pretty")).read()
    assert first == second and first.endswith(b"\n")


async def test_a_change_at_the_same_instant_shows_at_once(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    before = await stats_of(http, M_STATS)
    assert before["trained_model_stats"][0]["pipeline_count"] == 0
    body = {"processors": [{"inference": {"model_id": "m"}}]}
    assert (await http.put("/_ingest/pipeline/p", json=body)).status == 200
    after = await stats_of(http, M_STATS)
    assert after["trained_model_stats"][0]["pipeline_count"] == 1
    cluster.models.put_alias("m", "m-alias")  # a change through Python, no HTTP write
    assert (await stats_of(http, "/_ml/trained_models/m-alias/_stats"))["count"] == 1


async def test_traffic_and_time_show_in_the_next_read(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    before = (await stats_of(http, M_STATS))["trained_model_stats"][0]
    assert "inference_count" not in before["deployment_stats"]
    assert (await http.post("/_ml/trained_models/m/_infer", json={"docs": [{"text_field": "hi"}]})).status == 200
    after = (await stats_of(http, M_STATS))["trained_model_stats"][0]
    assert after["deployment_stats"]["inference_count"] == 1
    assert after["inference_stats"]["timestamp"] > before["inference_stats"]["timestamp"]
    cluster.advance(90.0)
    later = (await stats_of(http, M_STATS))["trained_model_stats"][0]
    assert later["inference_stats"]["timestamp"] == after["inference_stats"]["timestamp"] + 90_000


async def test_the_request_shapes_its_own_answer(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    plain = await http.get(STATS)
    filtered = await stats_of(http, STATS + "?filter_path=count")
    assert filtered == {"count": 2}
    compatible = await http.get(STATS, headers={"Accept": "application/vnd.elasticsearch+json; compatible-with=8"})
    assert plain.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert compatible.headers["Content-Type"] == "application/vnd.elasticsearch+json;compatible-with=8; charset=UTF-8"
    assert (await http.get(STATS + "?size=-1")).status == 400
    assert (await http.get(STATS + "?bogus=1")).status == 400
