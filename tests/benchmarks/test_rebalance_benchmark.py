"""The rebalance benchmark end to end on the smallest cluster: a real `mlsim serve`, every
trigger, numbers read back from `/_sim/rebalances` and `/_sim/events`."""

from __future__ import annotations

import json

import pytest

from benchmarks import rebalance

RECOVERIES = ("node_crash", "node_leave", "zone_loss")


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    assert rebalance.main(["--sizes", "10", "--modes", "optimal", "--json", str(out)]) == 0
    return {row["trigger"]: row for row in json.loads(out.read_text())}


def test_every_trigger_has_a_row(rows):
    assert sorted(rows) == sorted(rebalance.TRIGGERS)
    assert all(row["nodes"] == 10 and row["mode"] == "optimal" for row in rows.values())


@pytest.mark.parametrize("trigger", RECOVERIES)
def test_losing_capacity_recovers_in_one_wave_at_the_load_floor(rows, trigger):
    row = rows[trigger]
    assert row["reload_waves"] == 1 and row["moved"] == 0
    assert row["sim_seconds_to_fully_allocated"] is not None
    ratio = row["floor_ratio"]
    assert ratio >= 1.0 and ratio <= 1.05


def test_rest_triggers_report_request_to_applied_and_the_traffic_step_does_not(rows):
    assert rows["adaptive_step"]["request_to_applied_ms"] is None
    assert all(rows[t]["request_to_applied_ms"] > 0 for t in rebalance.REST_TRIGGERS)


def test_scaling_down_needs_no_plan_and_no_load(rows):
    row = rows["update_down"]
    assert row["planner_ms"] == 0 and row["rebalances"] == 0 and row["reload_waves"] == 0
    assert row["sim_seconds_to_fully_allocated"] == 0


def test_adaptive_allocations_scale_up_under_a_traffic_step(rows):
    row = rows["adaptive_step"]
    assert row["rebalances"] >= 1 and row["reload_waves"] >= 1
    assert row["sim_seconds_to_fully_allocated"] >= row["load_floor_seconds"]


def test_the_closest_recorded_elasticsearch_plan_is_chosen_by_size_then_zones(tmp_path):
    plans = tmp_path / "plans.jsonl"
    plans.write_text("".join(
        json.dumps({"instance": name, "es_compute_ms": ms}) + "\n"
        for name, ms in (("n10x10_z1_t0.7_low0_s1.json", 1.0), ("n100x100_z3_t0.7_low0_s2.json", 2.0),
                         ("n100x100_z1_t0.7_low0_s3.json", 3.0), ("n500x500_z3_t1.0_low0_s4.json", 4.0))
    ))
    assert rebalance.closest_es_plan(120, plans)["es_compute_ms"] == 2.0
    assert rebalance.closest_es_plan(1000, plans)["es_compute_ms"] == 4.0
    assert rebalance.closest_es_plan(10, tmp_path / "missing.jsonl") is None
