"""`GET /_sim/rebalances`: each rebalance read back from the event log, over HTTP."""

from __future__ import annotations

from cluster.cluster import Cluster
from cluster.rebalances import rebalances
from scheduler import Plan

MODEL_BYTES = 100 * 1024 * 1024
#: The default timing loads a 100 MiB model in 2 s (process start) + 1 s (bytes).
LOAD_SECONDS = 3.0


def fully_allocated_on_two_of_three_nodes(cluster: Cluster) -> None:
    """One 4-thread allocation per 4-core node, so a lost one loads anew on the third."""
    for name in ("ml-a", "ml-b", "ml-c"):
        cluster.add_node(name, processors=4)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", number_of_allocations=2, threads_per_allocation=4)
    assert cluster.run_until(cluster.fully_allocated(), timeout=60)


async def test_a_crash_shows_as_a_rebalance_fully_allocated_one_load_later(http, cluster):
    fully_allocated_on_two_of_three_nodes(cluster)
    since = cluster.log.next_seq
    victim = next(iter(cluster.assignment("m").routes))
    crash_at = cluster.now
    await http.post(f"/_sim/nodes/{victim}/_crash")
    await http.post("/_sim/clock/_advance", json={"seconds": 60})
    body = await (await http.get("/_sim/rebalances", params={"since": since})).json()
    [record] = body["rebalances"]
    assert record["cause"] == "node crashed"
    assert record["time"] == crash_at and record["deployments"] == ["m"]
    assert record["allocations_moved"] == 0 and record["planner_ms"] >= 0
    assert record["fully_allocated_after"] == LOAD_SECONDS
    assert body["next"] == cluster.log.next_seq


async def test_a_rebalance_still_waiting_has_no_fully_allocated_time(http, cluster):
    fully_allocated_on_two_of_three_nodes(cluster)
    since = cluster.log.next_seq
    await http.post("/_ml/trained_models/m/deployment/_update", json={"number_of_allocations": 3})
    body = await (await http.get("/_sim/rebalances", params={"since": since})).json()
    [record] = body["rebalances"]
    assert record["cause"] == "update deployment" and record["fully_allocated_at"] is None
    await http.post("/_sim/clock/_advance", json={"seconds": 60})
    [record] = (await (await http.get("/_sim/rebalances", params={"since": since})).json())["rebalances"]
    assert record["fully_allocated_after"] == LOAD_SECONDS


async def test_since_must_not_be_negative(http, cluster):
    response = await http.get("/_sim/rebalances", params={"since": "-1"})
    body = await response.json()
    assert response.status == 400 and body["error"]["type"] == "illegal_argument_exception"


def test_moves_count_allocations_taken_off_nodes_that_stay():
    cluster = Cluster(seed=1)
    cluster.add_node("ml-1", processors=4)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", number_of_allocations=1, threads_per_allocation=4)
    [plan] = [e for e in cluster.log if e.kind == "rebalance"]
    assert plan.fields["moved"] == 0
    assert plan.to_dict()["measured"]["planner_ms"] >= 0 and "measured" not in plan.to_json()
    [record] = rebalances(cluster.log)
    assert record.deployments == {"m"} and record.fully_allocated_at == LOAD_SECONDS
    # A plan that puts the allocation on another node takes it off ml-1, which stays; one
    # that drops a leaving node's allocation moves nothing.
    second = cluster.add_node("ml-2", processors=4)
    [first] = cluster.assignment("m").routes
    assert cluster.master.allocations_moved(Plan({"m": {second: 1}})) == 1
    assert cluster.master.allocations_moved(Plan({"m": {first: 1}})) == 0
    cluster.state.leaving.add(first)
    assert cluster.master.allocations_moved(Plan({"m": {second: 1}})) == 0
