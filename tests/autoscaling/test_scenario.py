"""Autoscaling in scenarios: the cluster's `autoscaling` key, `summary.json`'s `autoscaling`
(bill and time to fully allocated when a scale up was needed) and the report's section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.scenarios import run_scenario
from api.scenarios.schema import ScenarioError


def scenario(**cluster: Any) -> dict[str, Any]:
    return {
        "name": "from-zero",
        "duration": "1h",
        "sample_every": "30s",
        "cluster": {
            "settings": {"use_auto_machine_memory_percent": True, "max_lazy_ml_nodes": 1},
            "autoscaling": {"zones": ["a"], "provision_seconds": 180, "poll_interval": "30s", "cost_per_gb_hour": 0.05},
            **cluster,
        },
        "models": [{"model_id": "e5", "model_bytes": "130mb"}],
        "deployments": [{"model_id": "e5"}],
    }


def test_scale_from_zero_is_in_the_summary_and_the_report(tmp_path: Path) -> None:
    summary = run_scenario(scenario(), out_dir=tmp_path)
    autoscaling = summary.data["autoscaling"]
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    full = next(e["time"] for e in events if e["event"] == "allocation_status" and e["state"] == "fully_allocated")
    added = next(e["time"] for e in events if e["event"] == "autoscaling_node_added")
    assert added == 210.0  # first poll at 30 s, then 180 s of provisioning
    assert autoscaling["scaled_requests"] == [{
        "deployment_id": "e5", "cause": "start", "at_s": 0.0, "number_of_allocations": 1, "scale_ups": 1,
        "fully_allocated_after_s": full,
    }]
    assert full > added
    # one 4 GB node from its request at 30 s to the end (3600 s)
    hours = (3600 - 30) / 3600
    assert (autoscaling["scale_ups"], autoscaling["scale_downs"]) == (1, 0)
    assert autoscaling["node_hours"] == pytest.approx(hours, abs=1e-6)
    assert autoscaling["cost"] == pytest.approx(4 * hours * 0.05, abs=1e-6)
    assert json.loads((tmp_path / "summary.json").read_text())["autoscaling"] == autoscaling
    assert any(label == "autoscaling: scale up to 1×4gb" for _, label in summary.marks)
    report = (tmp_path / "report.html").read_text()
    assert "<h2>Autoscaling</h2>" in report and "1 scale ups, 0 scale downs" in report


def test_without_the_key_there_is_no_autoscaling_summary() -> None:
    data = scenario()
    del data["cluster"]["autoscaling"]
    data["cluster"]["nodes"] = [{"machine_memory": "8gb"}]
    assert "autoscaling" not in run_scenario(data, overrides={"duration": "1m"}).data


def test_a_bad_autoscaling_key_names_its_path() -> None:
    with pytest.raises(ScenarioError, match=r"cluster\.autoscaling\.processors_per_gb: must be a number"):
        run_scenario(scenario(autoscaling={"processors_per_gb": "many"}))


def test_mlsim_run_prints_the_bill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "from-zero.json"
    path.write_text(json.dumps(scenario()))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    hours = (3600 - 30) / 3600
    assert f"  autoscaling: 1 up, 0 down, {hours:.2f} node-hours, cost {4 * hours * 0.05:.2f}" in capsys.readouterr().out
