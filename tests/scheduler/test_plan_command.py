"""`mlsim plan` on the sample instance and its bad-input errors."""

import io
import json
from pathlib import Path

import pytest

from api.cli import main
from scheduler import PLANNER_MODES

SAMPLE = Path(__file__).resolve().parents[2] / "benchmarks" / "instances" / "sample.json"


@pytest.mark.parametrize("mode", PLANNER_MODES)
def test_plan_sample_instance(capsys, mode):
    assert main(["plan", str(SAMPLE), "--mode", mode]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == mode
    assert set(out["assignments"]) == {"dep-e5", "dep-elser", "dep-ner", "dep-lang"}
    assert set(out["unassigned"]) == set(out["assignments"])
    assert out["compute_ms"] >= 0
    assert isinstance(out["reasons"], dict)
    # e5 keeps its two current allocations on node-0000
    assert out["assignments"]["dep-e5"]["node-0000"] >= 2


def test_plan_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(SAMPLE.read_text()))
    assert main(["plan", "-"]) == 0
    assert "assignments" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "is not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"nodes": [], "deployments": [{"id": "d"}]}', "deployments[0].model_bytes is required"),
        ('{"nodes": [{"id": "n", "memory_bytes": -1, "cores": 1}], "deployments": []}', "nodes[0].memory_bytes"),
        ('{"nodes": [], "deployments": [{"id": "d", "model_bytes": 1, "allocations": 1, "priority": "high"}]}', "priority"),
        ('{"nodes": [{"id": "n", "memory_bytes": 1, "cores": 1}, {"id": "n", "memory_bytes": 1, "cores": 1}], "deployments": []}', "duplicate node id [n]"),
    ],
)
def test_bad_instances_exit_2_with_one_line(capsys, monkeypatch, text, message):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["plan", "-"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_exits_2(capsys, tmp_path):
    assert main(["plan", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
