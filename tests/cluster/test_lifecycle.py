"""Route and assignment transitions in simulated time."""

import pytest

from cluster.errors import MlError
from cluster.requests import StartRequest, UpdateRequest

from .conftest import LOAD_SECONDS, MODEL_BYTES, events, routes


def test_new_routes_start_then_load_in_simulated_time(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    assignment = cluster.deployments.start(StartRequest("m", number_of_allocations=8))
    assert routes(cluster, "m") == {a: (4, 4, "starting"), b: (4, 4, "starting")}
    assert assignment.state == "starting"
    assert assignment.allocation_status().to_dict() == {
        "allocation_count": 0, "target_allocation_count": 8, "state": "starting",
    }
    cluster.advance(LOAD_SECONDS)
    assert routes(cluster, "m") == {a: (4, 4, "started"), b: (4, 4, "started")}
    assert assignment.state == "started"
    assert assignment.allocation_status().state == "fully_allocated"
    assert [(e["time"], e["state"]) for e in events(cluster, "routing_state")] == [
        (LOAD_SECONDS, "started"), (LOAD_SECONDS, "started"),
    ]


def test_start_returns_when_wait_for_state_is_reached(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    assignment = cluster.start_deployment("m", wait_for="starting", number_of_allocations=2)
    assert cluster.now == 0 and assignment.state == "starting"
    cluster.add_pytorch_model("n", MODEL_BYTES)
    assignment = cluster.start_deployment("n", wait_for="fully_allocated", number_of_allocations=2)
    assert cluster.now == LOAD_SECONDS
    assert assignment.allocation_status().state == "fully_allocated"


def test_partial_allocation_counts_only_started_routes(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.deployments.start(StartRequest("m", number_of_allocations=8))
    cluster.state.nodes[b].inject_load_failure("slow disk")
    cluster.advance(LOAD_SECONDS)
    status = cluster.assignment("m").allocation_status()
    assert (status.allocation_count, status.target_allocation_count, status.state) == (4, 8, "started")


def test_injected_load_failure_fails_the_start_and_removes_the_deployment(cluster, two_nodes):
    a, b = sorted(two_nodes)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    for node_id in (a, b):
        cluster.state.nodes[node_id].inject_load_failure("out of native memory")
    with pytest.raises(MlError) as refused:
        cluster.start_deployment("m", number_of_allocations=8)
    assert refused.value.status == 500
    # The first failure ends the wait; both nodes fail at the same instant, the first in id order wins.
    assert refused.value.reason == (
        "Could not start trained model deployment, the following nodes failed with errors "
        f"[{{{a}=out of native memory}}]"
    )
    cluster.advance(10)
    assert "m" not in cluster.state.assignments


def test_failed_route_is_retried_on_the_next_rebalance(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.state.nodes[a].inject_load_failure("transient")
    cluster.start_deployment("m", wait_for="starting", number_of_allocations=8)
    cluster.advance(LOAD_SECONDS)
    assert routes(cluster, "m")[a] == (4, 4, "failed")
    assert cluster.assignment("m").routes[a].reason == "transient"
    cluster.add_node("ml-c", processors=1)  # a node join triggers a rebalance
    assert routes(cluster, "m")[a] == (4, 4, "starting")
    cluster.advance(LOAD_SECONDS)
    assert routes(cluster, "m")[a] == (4, 4, "started")


def test_every_route_failed_makes_the_assignment_report_failed(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    for node_id in two_nodes:
        cluster.state.nodes[node_id].inject_load_failure("bad model")
    cluster.deployments.start(StartRequest("m", number_of_allocations=8))
    cluster.advance(LOAD_SECONDS)
    assert cluster.assignment("m").all_routes_failed


def test_stop_drains_routes_then_removes_them_and_the_assignment(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated", number_of_allocations=2)
    cluster.deployments.stop("m")
    assert cluster.assignment("m").state == "stopping"
    assert {state for *_, state in routes(cluster, "m").values()} == {"stopping"}
    stopped = cluster.deployments.stopped(["m"])
    assert cluster.run_until(stopped, timeout=10)
    assert cluster.now == LOAD_SECONDS + cluster.settings.timing.stop_seconds
    assert [e.kind for e in cluster.log][-3:] == ["route_removed", "assignment_removed", "rebalance_skipped"]


def test_scale_up_changes_target_first_and_current_after_the_node_applies_it(cluster):
    node = cluster.add_node("big", processors=8)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated")
    cluster.deployments.update(UpdateRequest("m", number_of_allocations=4))
    assert routes(cluster, "m") == {node: (1, 4, "started")}
    assert cluster.assignment("m").allocation_status().state == "started"
    cluster.advance(cluster.settings.timing.resize_seconds)
    assert routes(cluster, "m") == {node: (4, 4, "started")}
    assert cluster.assignment("m").allocation_status().state == "fully_allocated"


def test_scale_down_uses_the_reducer_without_replanning(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated", number_of_allocations=6)
    plans_before = len(events(cluster, "rebalance"))
    cluster.deployments.update(UpdateRequest("m", number_of_allocations=2))
    assert len(events(cluster, "rebalance")) == plans_before
    assert sum(t for _, t, _ in routes(cluster, "m").values()) == 2
    cluster.advance(1)
    assert cluster.assignment("m").allocation_status().to_dict() == {
        "allocation_count": 2, "target_allocation_count": 2, "state": "fully_allocated",
    }


def test_graceful_leave_drains_while_crash_drops_at_once(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated", number_of_allocations=2)
    cluster.remove_node(a)
    assert routes(cluster, "m")[a][2] == "stopping"
    assert a in cluster.state.nodes
    cluster.advance(cluster.settings.timing.stop_seconds)
    assert a not in cluster.state.nodes and a not in cluster.assignment("m").routes
    assert events(cluster, "node_left")[0]["time"] == LOAD_SECONDS + cluster.settings.timing.stop_seconds

    cluster.crash_node(b)
    assert b not in cluster.state.nodes and cluster.assignment("m").routes == {}
    assert cluster.assignment("m").allocation_status().state == "starting"


def test_crashed_nodes_allocations_come_back_elsewhere_when_capacity_allows(cluster, two_nodes):
    a, b = two_nodes
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated", number_of_allocations=8)
    spare = cluster.add_node("ml-c", processors=4, zone="c")
    crashed_at = cluster.now
    cluster.crash_node(a)
    assert routes(cluster, "m") == {b: (4, 4, "started"), spare: (4, 4, "starting")}
    assert cluster.run_until(cluster.fully_allocated("m"), timeout=60)
    assert sum(r.current_allocations for r in cluster.assignment("m").routes.values()) == 8
    assert cluster.now - crashed_at == pytest.approx(LOAD_SECONDS)


def test_rebalance_is_skipped_when_every_assignment_is_satisfied(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", wait_for="fully_allocated", number_of_allocations=2)
    cluster.add_node("ml-c")
    assert cluster.log.since(cluster.log.next_seq - 1)[0].kind == "rebalance_skipped"
