"""The `/_sim` control plane over HTTP: nodes, clock, events, and refusals that change nothing."""

from __future__ import annotations

import json

import pytest

from cluster.cluster import Cluster
from nodes.resources import GiB

MODEL_BYTES = 100 * 1024 * 1024


async def error_of(response) -> tuple[int, str, str]:
    body = await response.json()
    return response.status, body["error"]["type"], body["error"]["reason"]


def snapshot(cluster: Cluster) -> tuple:
    return sorted(cluster.state.nodes), sorted(cluster.state.leaving), cluster.now, cluster.log.next_seq


async def test_post_node_accepts_byte_sizes_and_answers_the_node_as_get_shows_it(http, cluster):
    response = await http.post(
        "/_sim/nodes",
        json={"name": "big", "machine_memory": "32gb", "allocated_processors": 16, "zone": "a",
              "attributes": {"rack": "r1"}, "node_id": "node-big"},
    )
    assert response.status == 200
    added = await response.json()
    assert added["id"] == "node-big" and added["name"] == "big" and added["zone"] == "a"
    assert added["machine_memory"] == 32 * GiB and added["cores"] == 16 and added["free_cores"] == 16
    assert added["attributes"] == {"rack": "r1"} and added["leaving"] is False and added["routes"] == []
    listed = await (await http.get("/_sim/nodes")).json()
    assert listed == {"nodes": [added]}


@pytest.mark.parametrize(
    "shape, reason",
    [
        ({"allocated_processors": 1e20}, "[allocated_processors] must be positive and at most 4096, got [1e+20]"),
        ({"allocated_processors": 0}, "[allocated_processors] must be positive and at most 4096, got [0]"),
        ({"machine_memory": "99999999pb"},
         "node.machine_memory: Values greater than 9223372036854775807 bytes are not supported: 99999999pb"),
    ],
)
async def test_post_node_refuses_shapes_no_machine_has(http, cluster, shape, reason):
    before = snapshot(cluster)
    response = await http.post("/_sim/nodes", json=shape)
    status, kind, message = await error_of(response)
    assert (status, kind) == (400, "illegal_argument_exception") and message.endswith(reason)
    assert snapshot(cluster) == before


async def test_post_node_without_a_name_gets_the_next_free_one(http, cluster):
    cluster.add_node("ml-1")
    response = await http.post("/_sim/nodes", json={})
    assert (await response.json())["name"] == "ml-2"


async def test_get_nodes_shows_routes_memory_and_free_capacity(http, cluster):
    node = cluster.add_node("ml-1", memory_gb=16, processors=8)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", number_of_allocations=2)
    (shown,) = (await (await http.get("/_sim/nodes")).json())["nodes"]
    usage = cluster.state.usage(node)
    assert shown["ml_memory_limit"] == usage.ml_memory_limit
    assert shown["deployment_memory"] == usage.deployment_memory
    assert shown["free_memory"] == usage.free_memory < usage.deployment_memory
    assert (shown["cores"], shown["free_cores"]) == (8, 6)
    assert shown["routes"] == [
        {"deployment_id": "m", "model_id": "m", "current_allocations": 2, "target_allocations": 2,
         "routing_state": "started", "reason": ""}
    ]


@pytest.mark.parametrize(
    "body, reason_part",
    [
        ({"machine_memory": "16xb"}, "node.machine_memory: failed to parse setting [machine_memory]"),
        ({"allocated_processors": 0}, "[allocated_processors] must be positive"),
        ({"allocated_processors": "many"}, "node.allocated_processors: must be a number"),
        ({"memory": "16gb"}, "node: unknown field [memory]"),
        ({"attributes": ["a"]}, "node.attributes: must be an object of string values"),
        ({"jvm_size": "64gb"}, "node.jvm_size: must be smaller than machine_memory"),
    ],
)
async def test_bad_node_shapes_are_400_and_add_nothing(http, cluster, body, reason_part):
    before = snapshot(cluster)
    status, kind, reason = await error_of(await http.post("/_sim/nodes", json=body))
    assert (status, kind) == (400, "illegal_argument_exception")
    assert reason_part in reason
    assert snapshot(cluster) == before


async def test_node_body_must_be_a_json_object(http, cluster):
    assert (await http.post("/_sim/nodes")).status == 400
    assert (await http.post("/_sim/nodes", data="[1]", headers={"Content-Type": "application/json"})).status == 400
    assert (await http.post("/_sim/nodes", data="{nope", headers={"Content-Type": "application/json"})).status == 400
    assert cluster.state.nodes == {}


async def test_duplicate_node_name_or_id_is_refused(http, cluster):
    cluster.add_node("ml-1", node_id="abc")
    before = snapshot(cluster)
    for body in ({"name": "ml-1"}, {"name": "other", "node_id": "abc"}):
        status, _, reason = await error_of(await http.post("/_sim/nodes", json=body))
        assert status == 400 and "already exists" in reason
    assert snapshot(cluster) == before


async def test_delete_node_drains_its_routes_then_it_leaves(http, cluster):
    a = cluster.add_node("ml-1", processors=4)
    cluster.add_node("ml-2", processors=4)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", number_of_allocations=8)
    body = await (await http.delete(f"/_sim/nodes/{a}")).json()
    assert body == {"acknowledged": True, "node_id": a, "state": "leaving"}
    shown = {n["id"]: n for n in (await (await http.get("/_sim/nodes")).json())["nodes"]}
    assert shown[a]["leaving"] is True
    assert cluster.run_until(lambda: a not in cluster.state.nodes, timeout=60)


async def test_delete_an_idle_node_leaves_at_once(http, cluster):
    a = cluster.add_node("ml-1")
    body = await (await http.delete(f"/_sim/nodes/{a}")).json()
    assert body["state"] == "left" and a not in cluster.state.nodes


async def test_crash_node_drops_its_routes(http, cluster):
    a = cluster.add_node("ml-1")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m")
    body = await (await http.post(f"/_sim/nodes/{a}/_crash")).json()
    assert body == {"acknowledged": True, "node_id": a, "state": "crashed"}
    assert a not in cluster.state.nodes and cluster.assignment("m").routes == {}
    assert any(e.kind == "node_crashed" and e.fields["node_id"] == a for e in cluster.log)


@pytest.mark.parametrize("request_args", [("DELETE", "/_sim/nodes/nope"), ("POST", "/_sim/nodes/nope/_crash")])
async def test_unknown_node_is_404(http, cluster, request_args):
    method, path = request_args
    status, kind, reason = await error_of(await http.request(method, path))
    assert (status, kind, reason) == (404, "resource_not_found_exception", "No known node with id [nope]")


async def test_clock_shows_now_in_every_form(http, cluster):
    body = await (await http.get("/_sim/clock")).json()
    assert body == {
        "now": 0, "epoch_millis": cluster.clock.epoch_ms, "timestamp": cluster.clock.iso(),
        "mode": "virtual", "speed": 1.0,
    }


@pytest.mark.parametrize("seconds, expected", [(12.5, 12.5), ("2m", 120.0), (0, 0.0)])
async def test_advance_moves_simulated_time(http, cluster, seconds, expected):
    response = await http.post("/_sim/clock/_advance", json={"seconds": seconds})
    assert response.status == 200
    body = await response.json()
    assert body["now"] == expected == cluster.now
    assert body["epoch_millis"] == cluster.clock.epoch_ms + int(expected * 1000)


async def test_advance_runs_node_work_due_in_that_time(http, cluster):
    cluster.add_node("ml-1")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="starting")
    assert cluster.assignment("m").state == "starting"
    await http.post("/_sim/clock/_advance", json={"seconds": 10})
    assert cluster.assignment("m").state == "started"


@pytest.mark.parametrize(
    "body",
    ['{"seconds": -1}', '{"seconds": "soon"}', '{"seconds": true}', '{"seconds": [1]}', "{}",
     '{"seconds": 1, "minutes": 2}', "", '{"seconds": 1e999}'],
)
async def test_bad_advance_is_400_and_time_stays(http, cluster, body):
    response = await http.post("/_sim/clock/_advance", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "error" in await response.json()
    assert cluster.now == 0


async def test_events_page_with_since_and_next(http, cluster):
    cluster.add_node("ml-1")
    cluster.add_node("ml-2")
    first = await (await http.get("/_sim/events")).json()
    assert first["next"] == cluster.log.next_seq == len(first["events"])
    assert [e["seq"] for e in first["events"]] == list(range(first["next"]))
    assert first["events"][0]["event"] == "node_joined"
    cluster.add_node("ml-3")
    second = await (await http.get(f"/_sim/events?since={first['next']}")).json()
    assert second["events"] and second["events"][0]["seq"] == first["next"]
    assert second["next"] == cluster.log.next_seq


async def test_events_as_json_lines(http, cluster):
    cluster.add_node("ml-1")
    response = await http.get("/_sim/events?format=jsonl&since=0")
    assert response.status == 200 and response.content_type == "application/x-ndjson"
    lines = (await response.text()).splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in cluster.log]
    assert response.headers["X-Mlsim-Next"] == str(cluster.log.next_seq)


@pytest.mark.parametrize("query", ["since=-1", "since=abc", "format=xml", "sinse=1"])
async def test_bad_event_queries_are_400(http, cluster, query):
    status, kind, _ = await error_of(await http.get(f"/_sim/events?{query}"))
    assert (status, kind) == (400, "illegal_argument_exception")
