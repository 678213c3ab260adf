"""Each timeline action does to the cluster what its REST twin does, at its simulated time;
refusals are recorded and the run goes on; recoveries and time without allocations are
measured to the simulated instant."""

from __future__ import annotations

from typing import Any

import pytest

from api.scenarios import ScenarioRun, load_scenario

from .conftest import scenario


def run(data: dict[str, Any]) -> ScenarioRun:
    r = ScenarioRun(load_scenario(data))
    r.summary = r.run()
    return r


def outcomes(r: ScenarioRun) -> list[dict[str, Any]]:
    return r.summary.data["timeline"]


def rows(r: ScenarioRun, deployment_id: str = "d") -> list[dict[str, Any]]:
    return [row for row in r.summary.timeseries if row["deployment_id"] == deployment_id]


def node_names(r: ScenarioRun) -> list[str]:
    return [n.name for n in r.cluster.state.nodes.values()]


def test_crash_nodes_by_zone_and_the_recovery_after_it() -> None:
    r = run(scenario(timeline=[{"at": "1m", "do": "crash_nodes", "zone": "a"}]))
    assert outcomes(r) == [{"event": 0, "at_s": 60.0, "do": "crash_nodes", "ok": True, "nodes": ["ml-a"]}]
    assert node_names(r) == ["ml-b"]
    # scenario time zero is the first 10 s tick after the deployment has loaded (2 s start
    # + 1 s load); the event log keeps the cluster's clock
    assert r.summary.data["warm_up_s"] == 10.0
    crashed = [e for e in r.cluster.log if e.kind == "node_crashed"]
    assert [e.time for e in crashed] == [70.0]
    # the allocation lost with ml-a is added to ml-b's route: a resize (0.5 s), not a load
    (recovery,) = r.summary.data["deployments"]["d"]["recoveries"]
    assert recovery == {"event": 0, "at_s": 60.0, "fully_allocated_after_s": 0.5}
    assert r.cluster.assignment("d").routes[r.cluster.node_id("ml-b")].current_allocations == 2


def test_crash_nodes_by_name_and_by_count() -> None:
    r = run(scenario(
        cluster={"nodes": [{"count": 4, "zones": ["a", "b"]}]},
        timeline=[
            {"at": "1m", "do": "crash_nodes", "nodes": ["ml-3"]},
            {"at": "2m", "do": "crash_nodes", "count": 2},
        ],
    ))
    assert [o["nodes"] for o in outcomes(r)] == [["ml-3"], ["ml-1", "ml-2"]]
    assert node_names(r) == ["ml-4"]


def test_remove_nodes_drains_and_moves_allocations() -> None:
    r = run(scenario(timeline=[{"at": "1m", "do": "remove_nodes", "nodes": ["ml-b"]}]))
    assert outcomes(r)[0]["ok"] and outcomes(r)[0]["nodes"] == ["ml-b"]
    kinds = [(e.kind, e.time) for e in r.cluster.log if e.kind in ("node_leaving", "node_left")]
    assert kinds[0] == ("node_leaving", 70.0) and kinds[1][0] == "node_left" and kinds[1][1] > 70.0
    assert node_names(r) == ["ml-a"]
    assert r.summary.data["allocations_moved"] == 1
    assert sum(row["unrouted"] for row in rows(r)) == 0  # graceful: served while draining


def test_add_nodes_with_zones_round_robin() -> None:
    r = run(scenario(timeline=[{"at": "1m", "do": "add_nodes", "count": 3, "machine_memory": "8gb", "zones": ["c", "d"]}]))
    assert outcomes(r)[0]["nodes"] == ["ml-1", "ml-2", "ml-3"]
    added = {n.name: (n.spec.zone, n.spec.machine_memory) for n in r.cluster.state.nodes.values()}
    assert added["ml-1"] == ("c", 8 << 30) and added["ml-2"] == ("d", 8 << 30) and added["ml-3"] == ("c", 8 << 30)
    assert set(r.summary.data["nodes"]) == {"ml-a", "ml-b", "ml-1", "ml-2", "ml-3"}


def test_start_deployment_and_set_traffic_on_it() -> None:
    r = run(scenario(timeline=[
        {"at": "1m", "do": "start_deployment", "model_id": "m", "deployment_id": "late", "number_of_allocations": 1},
        {"at": "2m", "do": "set_traffic", "deployment_id": "late", "kind": "constant", "rate": 5},
    ]))
    assert [o["ok"] for o in outcomes(r)] == [True, True]
    late = rows(r, "late")
    assert late[0]["time_s"] == 60.0
    assert [row["request_rate"] for row in late if row["time_s"] in (120.0, 130.0, 300.0)] == [0.0, 5.0, 5.0]
    assert r.summary.data["deployments"]["late"]["requests"]["offered"] == 5 * 180


def test_set_traffic_replaces_what_was_there() -> None:
    r = run(scenario(timeline=[{"at": "2m", "do": "set_traffic", "deployment_id": "d", "kind": "constant", "rate": 0}]))
    before = [row["request_rate"] for row in rows(r) if 0 < row["time_s"] <= 120]
    after = [row["request_rate"] for row in rows(r) if row["time_s"] > 120]
    assert sum(before) / len(before) == pytest.approx(20, rel=0.2)
    assert after and set(after) == {0.0}


def test_stop_deployment() -> None:
    r = run(scenario(timeline=[{"at": "1m", "do": "stop_deployment", "deployment_id": "d"}]))
    assert outcomes(r)[0]["deployment_ids"] == ["d"]
    assert "d" not in r.cluster.state.assignments
    assert max(row["time_s"] for row in rows(r) if row["target_allocations"] > 0) <= 60.0
    assert r.summary.data["deployments"]["d"]["recoveries"] == []  # gone: nothing to recover


def test_update_deployment_scales_and_waits_for_the_new_allocations() -> None:
    r = run(scenario(timeline=[{"at": "1m", "do": "update_deployment", "deployment_id": "d", "number_of_allocations": 6}]))
    assert outcomes(r)[0]["number_of_allocations"] == 6
    last = rows(r)[-1]
    assert (last["target_allocations"], last["started_allocations"]) == (6, 6)
    (recovery,) = r.summary.data["deployments"]["d"]["recoveries"]
    assert recovery["fully_allocated_after_s"] == 0.5  # both routes resize


def test_request_goes_through_the_app_and_refusals_are_recorded() -> None:
    r = run(scenario(timeline=[
        {"at": "1m", "do": "request", "method": "PUT", "path": "/_ml/trained_models/m/model_aliases/search"},
        {"at": "1m", "do": "request", "method": "POST", "path": "/_sim/nodes", "body": {"name": "ml-c", "zone": "c"}},
        {"at": "2m", "do": "request", "path": "/_ml/trained_models/nope/_stats"},
        {"at": "2m", "do": "request", "method": "POST", "path": "/_plugins/_ml/models/_search", "body": {"query": {"match_all": {}}}},
    ]))
    assert r.cluster.state.aliases == {"search": "m"}
    assert "ml-c" in node_names(r)
    got = outcomes(r)
    assert [o["ok"] for o in got] == [True, True, False, True]
    assert got[2]["status"] == 404 and "nope" in got[2]["error"]
    logged = [e.fields for e in r.cluster.log if e.kind == "scenario_action"]
    assert [f["ok"] for f in logged] == [True, True, False, True]


def test_a_shorthand_refused_by_the_cluster_is_recorded_and_the_run_goes_on() -> None:
    r = run(scenario(timeline=[
        {"at": "1m", "do": "crash_nodes", "nodes": ["nope"]},
        {"at": "2m", "do": "update_deployment", "deployment_id": "d", "number_of_allocations": 100},
    ]))
    got = outcomes(r)
    assert got[0] == {"event": 0, "at_s": 60.0, "do": "crash_nodes", "ok": False, "status": 404, "error": "No known node named [nope]"}
    assert got[1]["ok"] is False and got[1]["status"] == 429
    assert rows(r)[-1]["target_allocations"] == 2


@pytest.mark.parametrize("warm_up, loading", [(True, 0.0), (False, 3.0)])
def test_time_without_allocations_and_a_recovery_that_waits_for_a_new_node(warm_up: bool, loading: float) -> None:
    r = run(scenario(
        warm_up=warm_up,
        cluster={"settings": {"timing": {"process_start_seconds": "2s", "load_bandwidth_bytes_per_second": "100mb"}},
                 "nodes": [{"name": "only"}]},
        timeline=[
            {"at": "1m", "do": "crash_nodes", "nodes": ["only"]},
            {"at": "2m", "do": "add_nodes"},
        ],
        slo=[{"deployment_id": "d", "fully_allocated_within": "1m", "max_zero_allocation_s": 70}],
    ))
    d = r.summary.data["deployments"]["d"]
    # 60 s without a node and 3 s loading on the new one (plus the first load without warm-up)
    assert d["zero_allocation_s"] == 63.0 + loading
    assert d["recoveries"] == [
        {"event": 0, "at_s": 60.0, "fully_allocated_after_s": 63.0},
        {"event": 1, "at_s": 120.0, "fully_allocated_after_s": 3.0},
    ]
    assert d["requests"]["unrouted"] == pytest.approx(20 * (63 + loading), rel=0.15)
    assert r.summary.data["slo"] == [
        {"deployment_id": "d", "check": "fully_allocated_within", "target": 60.0, "measured": 63.0, "ok": False},
        {"deployment_id": "d", "check": "max_zero_allocation_s", "target": 70.0, "measured": 63.0 + loading, "ok": True},
    ]
    assert not r.summary.ok
    assert r.summary.data["warm_up_s"] == (0.0 if loading else 10.0)


def test_events_after_the_end_are_recorded_as_skipped() -> None:
    r = run(scenario(duration="1m", timeline=[{"at": "10m", "do": "crash_nodes", "zone": "a"}]))
    assert outcomes(r) == [{"event": 0, "at_s": 600.0, "do": "crash_nodes", "skipped": "after the end of the run"}]
    assert len(node_names(r)) == 2


def test_a_start_refused_at_time_zero_is_in_the_summary_and_fails_its_slo() -> None:
    r = run(scenario(
        duration="1m",
        deployments=[
            {"model_id": "m", "deployment_id": "d", "number_of_allocations": 2},
            {"model_id": "m", "deployment_id": "big", "threads_per_allocation": 16},
        ],
        slo=[{"deployment_id": "big", "p99_latency_ms": 100}],
    ))
    big = r.summary.data["deployments"]["big"]
    assert big["start_error"] == "Could not start deployment because no ML nodes with sufficient capacity were found"
    assert (big["requests"]["offered"], big["latency_ms"]["p99"], big["zero_allocation_s"]) == (0, None, 60.0)
    assert r.summary.data["slo"] == [
        {"deployment_id": "big", "check": "p99_latency_ms", "target": 100.0, "measured": None, "ok": False}
    ]
    assert [e.fields["deployment_id"] for e in r.cluster.log if e.kind == "scenario_start_refused"] == ["big"]
