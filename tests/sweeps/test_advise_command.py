"""`mlsim advise` on the example agrees with a brute-force scan of the same range, both
ways (smallest node count; with --maximize the largest allocation count), and prints the
points it tried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlsim
from api.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweeps" / "zone-loss-capacity.yaml"
SHORT = ["--set", "duration=6m"]  # the zone is lost at 5m; a minute after is enough to tell


def brute_force(key: str, values: range, seeds: int) -> dict[int, bool]:
    """Every value and seed run one by one, in this process."""
    first_seed = mlsim.load_scenario(EXAMPLE).seed
    return {
        value: all(
            mlsim.run_scenario(EXAMPLE, seed=first_seed + k, overrides={"duration": "6m", key: value}).ok
            for k in range(seeds)
        )
        for value in values
    }


def test_smallest_node_count_agrees_with_a_scan(capsys: pytest.CaptureFixture[str]) -> None:
    key, values = "cluster.nodes.0.count", range(2, 8)
    status = main(["advise", str(EXAMPLE), "--vary", f"{key}=2..7", "--seeds", "2", "--workers", "2", "--json", *SHORT])
    advice = json.loads(capsys.readouterr().out)
    held = brute_force(key, values, seeds=2)
    assert advice["answer"] == min(v for v, ok in held.items() if ok) == 5 and status == 0
    assert advice["key"] == key and advice["monotone"] is True
    assert all(held[t["value"]] == t["ok"] for t in advice["tried"])
    assert len(advice["tried"]) < len(values)  # a search, not a scan
    assert advice["tried"][:2] == [{"value": 2, "ok": False}, {"value": 7, "ok": True}]


def test_largest_allocation_count_agrees_with_a_scan(capsys: pytest.CaptureFixture[str]) -> None:
    key, values = "deployments.0.number_of_allocations", range(12, 19)
    status = main(["advise", str(EXAMPLE), "--vary", f"{key}=12..18", "--maximize", "--workers", "2", *SHORT])
    printed = capsys.readouterr().out.splitlines()
    held = brute_force(key, values, seeds=1)
    # 6 nodes of 4 processors lose 2 with zone a: 16 single-thread allocations still fit
    assert max(v for v, ok in held.items() if ok) == 16 and status == 0
    assert printed[0] == f"largest {key} in 12..18 with every SLO holding in 1 seed(s): 16"
    assert printed[1] == "tried, in order:"
    assert printed[2:4] == [f"  {key}=18  FAIL", f"  {key}=12  ok"]
    assert all(held[int(line.split("=")[1].split()[0])] == line.endswith("ok") for line in printed[2:])


def test_nothing_holding_exits_1_with_a_null_answer(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["advise", str(EXAMPLE), "--vary", "cluster.nodes.0.count=1..2", "--json", "--workers", "1", *SHORT])
    assert status == 1
    assert json.loads(capsys.readouterr().out) == {
        "key": "cluster.nodes.0.count", "answer": None, "monotone": True,
        "tried": [{"value": 1, "ok": False}, {"value": 2, "ok": False}],
    }


@pytest.mark.parametrize("vary, message", [
    ("cluster.nodes.0.count=5", "--vary cluster.nodes.0.count: expected an integer range LO..HI, got [5]"),
    ("cluster.nodes.0.count=0..3", "zone-loss-capacity.yaml at cluster.nodes.0.count=0: cluster.nodes[0].count: must be a positive integer"),
    ("seed=1..3", "--vary seed: seeds are chosen with --seeds"),
])
def test_a_bad_range_exits_2(capsys: pytest.CaptureFixture[str], vary: str, message: str) -> None:
    assert main(["advise", str(EXAMPLE), "--vary", vary]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsim advise: ") and err.endswith(f"{message}\n") and err.count("\n") == 1


def test_a_contradiction_is_said_and_the_range_scanned(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """More allocations than the 2 surviving nodes' 4 processors never recover after the
    crash: 4 holds, 6 fails, so the smallest value that holds is not found by bisection."""
    key = "deployments.0.number_of_allocations"
    args = ["advise", str(tiny), "--set", "cluster.nodes.0.count=3", "--vary", f"{key}=4..6", "--workers", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == (f"not monotone: {key}=4 holds but {key}=6 fails, so a binary search cannot be trusted; "
                          "every value was tried")
    assert printed[3:] == [f"  {key}=4  ok", f"  {key}=6  FAIL", f"  {key}=5  FAIL"]

    assert main([*args, "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out) == {"key": key, "answer": 4, "monotone": False, "tried": [
        {"value": 4, "ok": True}, {"value": 6, "ok": False}, {"value": 5, "ok": False}]}
    assert printed.err.startswith(f"not monotone: {key}=4 holds")
