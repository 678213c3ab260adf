"""`mlsim run`: exit status by SLO outcome, the output files and their formats, byte-identical
reruns, and the `import mlsim` face."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

import mlsim
from api.cli import main
from api.scenarios.summary import TIMESERIES_COLUMNS

from .conftest import scenario


def write(tmp_path: Path, data: dict[str, Any], name: str = "small.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")
        if tag == "table":
            self.tables += 1


def test_every_slo_holds_exit_0_and_the_files_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario(slo=[{"deployment_id": "d", "p99_latency_ms": 1000, "max_rejected_share": 0.5}]))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "every SLO holds" in printed.out and "ok   d p99_latency_ms" in printed.out
    assert printed.err == ""  # no progress bar when stderr is not a terminal

    summary = json.loads((out / "summary.json").read_text())
    assert (summary["scenario"], summary["seed"], summary["duration_s"], summary["ok"]) == ("small", 3, 300.0, True)
    d = summary["deployments"]["d"]
    assert set(d["requests"]) >= {"offered", "completed", "rejected", "timed_out"}
    assert d["requests"]["offered"] == pytest.approx(20 * 300, rel=0.1)
    assert set(d["latency_ms"]) == {"p50", "p95", "p99"} and 10 <= d["latency_ms"]["p50"] <= d["latency_ms"]["p99"]
    assert set(summary["nodes"]) == {"ml-a", "ml-b"}
    assert all(n["peak_memory_bytes"] > 0 and n["peak_cores_used"] == 1 for n in summary["nodes"].values())
    assert summary["rebalances"] >= 1 and summary["allocations_moved"] == 0
    assert [row["ok"] for row in summary["slo"]] == [True, True]

    with (out / "timeseries.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == TIMESERIES_COLUMNS
    assert [float(r["time_s"]) for r in table] == [10.0 * k for k in range(31)]
    assert {r["deployment_id"] for r in table} == {"d"}

    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "node_joined" and [e["seq"] for e in events] == list(range(len(events)))

    page = _Images()
    page.feed((out / "report.html").read_text())
    assert len(page.sources) == 3 and page.tables >= 2
    assert all(s.startswith("data:image/png;base64,iVBORw0KGgo") for s in page.sources)  # PNG, inline
    assert (out / "nodes.csv").read_text().startswith("time_s,node,memory_used_bytes")
    assert json.loads((out / "scenario.json").read_text())["slo"][0]["p99_latency_ms"] == 1000


def test_a_failed_slo_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario(slo=[{"deployment_id": "d", "p50_latency_ms": 1, "max_rejected_share": 0.5}]))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 1
    assert "FAIL d p50_latency_ms" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ok"] is False and [r["ok"] for r in summary["slo"]] == [False, True]


def test_an_invalid_scenario_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario(timeline=[{"at": "1m", "do": "crash_nodes"}]), "lose-zone.yaml")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"mlsim run: {path}: timeline[0]: one of [nodes], [zone] or [count] is required\n"
    assert not (tmp_path / "out").exists()
    assert main(["run", str(path), "--set", "nonsense"]) == 2


def test_the_same_file_and_seed_give_byte_identical_outputs(tmp_path: Path) -> None:
    data = scenario(timeline=[
        {"at": "1m", "do": "crash_nodes", "zone": "a"},
        {"at": "2m", "do": "add_nodes", "zone": "a"},
        {"at": "3m", "do": "update_deployment", "deployment_id": "d", "number_of_allocations": 3},
    ])
    path = write(tmp_path, data)
    for name in ("one", "two"):
        assert main(["run", str(path), "--quiet", "--out", str(tmp_path / name)]) == 0
    for file in ("summary.json", "timeseries.csv", "events.jsonl", "nodes.csv", "scenario.json"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes(), file
    assert main(["run", str(path), "--quiet", "--seed", "4", "--out", str(tmp_path / "three")]) == 0
    assert (tmp_path / "three" / "summary.json").read_bytes() != (tmp_path / "one" / "summary.json").read_bytes()
    assert json.loads((tmp_path / "three" / "summary.json").read_text())["seed"] == 4


def test_default_output_directory_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, scenario())
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--quiet", "--set", "name=renamed", "--set", "duration=30s"]) == 0
    summary = json.loads((tmp_path / "runs" / "renamed-3" / "summary.json").read_text())
    assert (summary["scenario"], summary["duration_s"]) == ("renamed", 30.0)
    assert json.loads((tmp_path / "runs" / "renamed-3" / "scenario.json").read_text())["duration"] == "30s"


EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "scenarios").glob("*.yaml"))


def test_there_are_at_least_three_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_runs_in_a_short_mode(example: Path, tmp_path: Path) -> None:
    status = main(["run", str(example), "--quiet", "--set", "duration=10m", "--out", str(tmp_path)])
    assert status in (0, 1)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["duration_s"] == 600.0
    assert all(o.get("ok", True) for o in summary["timeline"]), summary["timeline"]
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_python_face() -> None:
    cluster = mlsim.Cluster(seed=1)
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 100_000_000)
    cluster.start_deployment("m", number_of_allocations=2)
    cluster.add_traffic("m", mlsim.Poisson(50.0))
    cluster.advance(60)
    assert {mlsim.ConstantRate, mlsim.Step, mlsim.Diurnal, mlsim.Replay} <= {type(p) for p in (
        mlsim.ConstantRate(1), mlsim.Step(((0, 1),)), mlsim.Diurnal(1), mlsim.Replay.from_csv(__import__("io").StringIO("1\n")))}
    summary = mlsim.run_scenario(scenario(slo=[{"deployment_id": "d", "max_rejected_share": 1}]), overrides={"duration": "1m"})
    assert isinstance(summary, mlsim.Summary) and summary.ok
    assert summary.to_dict()["duration_s"] == 60.0
    with pytest.raises(mlsim.ScenarioError, match="scenario: duration: must be positive"):
        mlsim.run_scenario(scenario(duration=0))
