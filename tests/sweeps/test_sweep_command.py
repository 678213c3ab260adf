"""`mlsim sweep` on local worker processes: results.csv (columns, order, numbers as the
runs' summaries give them), sweep.html, the run directories, the cache, refusals."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from api.cli import main
from api.sweeps.grid import Axis
from api.sweeps.plots import render
from api.sweeps.progress import RunProgress

from .conftest import read_rows

SMALL_GRID = ["--grid", "cluster.nodes.0.count=2,3", "--grid", "traffic.0.rate=5,160"]
COLUMNS = ["cluster.nodes.0.count", "traffic.0.rate", "seed", "ok", "recovery_s", "zero_allocation_s", "p99_ms",
           "rejected_share", "moved"]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")


def test_results_rows_match_each_runs_summary(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    assert main(["sweep", str(tiny), *SMALL_GRID, "--seeds", "2", "--workers", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("8 runs (0 cached), every SLO held in ")
    assert printed.err == ""  # no progress bar when stderr is not a terminal

    rows = read_rows(out / "results.csv")
    assert list(rows[0]) == COLUMNS
    assert [(r["cluster.nodes.0.count"], r["traffic.0.rate"], r["seed"]) for r in rows] == [
        (n, rate, seed) for n in ("2", "3") for rate in ("5", "160") for seed in ("11", "12")
    ]
    for row in rows:
        run = out / "runs" / f"cluster.nodes.0.count={row['cluster.nodes.0.count']},traffic.0.rate={row['traffic.0.rate']}" / f"seed-{row['seed']}"
        summary = json.loads((run / "summary.json").read_text())
        deployment = summary["deployments"]["d"]
        assert summary["seed"] == int(row["seed"]) and row["ok"] == str(summary["ok"]).lower()
        assert float(row["p99_ms"]) == deployment["latency_ms"]["p99"]
        assert float(row["zero_allocation_s"]) == deployment["zero_allocation_s"]
        assert int(row["moved"]) == summary["allocations_moved"]
        requests = deployment["requests"]
        assert float(row["rejected_share"]) == pytest.approx((requests["rejected"] + requests["unrouted"]) / requests["offered"], abs=1e-6)
        recovery = deployment["recoveries"][0]["fully_allocated_after_s"]
        assert row["recovery_s"] == ("" if recovery is None else str(recovery))
        assert {p.name for p in run.iterdir()} == {"summary.json", "scenario.json", "timeseries.csv", "nodes.csv", "events.jsonl", "sweep.json"}
    # two nodes of 2 processors lose one: 4 allocations cannot all come back, so no recovery
    assert {r["recovery_s"] for r in rows if r["cluster.nodes.0.count"] == "2"} == {""}
    assert {r["ok"] for r in rows if r["cluster.nodes.0.count"] == "2"} == {"false"}
    assert {r["recovery_s"] for r in rows if r["cluster.nodes.0.count"] == "3"} != {""}

    page = _Page()
    page.feed((out / "sweep.html").read_text())
    assert len(page.images) == 6 and all(s.startswith("data:image/png;base64,iVBORw0KGgo") for s in page.images)


def test_a_rerun_skips_finished_runs_and_a_changed_scenario_runs_again(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(tiny), *SMALL_GRID, "--workers", "2", "--out", str(out)]
    assert main(args) == 0
    first = (out / "results.csv").read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/*/summary.json")}
    assert len(stamps) == 4
    capsys.readouterr()

    assert main(args) == 0
    assert capsys.readouterr().out.startswith("4 runs (4 cached)")
    assert (out / "results.csv").read_bytes() == first
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not written again

    # a run whose key file is missing (stopped before it finished) runs again, alone
    (out / "runs" / "cluster.nodes.0.count=3,traffic.0.rate=5" / "seed-11" / "sweep.json").unlink()
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("4 runs (3 cached)")
    assert (out / "results.csv").read_bytes() == first

    # another scenario after overrides is another key: everything runs again
    assert main([*args, "--set", "slo.0.p99_latency_ms=1000"]) == 0
    assert capsys.readouterr().out.startswith("4 runs (0 cached)")
    assert (out / "results.csv").read_bytes() != first


def test_one_or_two_workers_write_the_same_results(tiny: Path, tmp_path: Path) -> None:
    for workers in ("1", "2"):
        assert main(["sweep", str(tiny), *SMALL_GRID, "--workers", workers, "--out", str(tmp_path / workers)]) == 0
    assert (tmp_path / "1" / "results.csv").read_bytes() == (tmp_path / "2" / "results.csv").read_bytes()


def test_reports_on_request(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert main(["sweep", str(tiny), "--grid", "traffic.0.rate=5", "--workers", "1", "--reports", "--out", str(out)]) == 0
    assert (out / "runs" / "traffic.0.rate=5" / "seed-11" / "report.html").read_text().startswith("<!doctype html>")


@pytest.mark.parametrize("grid, message", [
    (["--grid", "cluster.nodes.0.count=0,1"], "tiny.yaml at cluster.nodes.0.count=0: cluster.nodes[0].count: must be a positive integer"),
    (["--grid", "nope=1"], "tiny.yaml at nope=1: unknown field [nope]"),
    (["--grid", "seed=1,2"], "--grid seed: seeds are chosen with --seeds"),
    (["--grid", "traffic.0.rate=1..0"], "the range 1..0 is empty"),
])
def test_an_invalid_point_exits_2_before_anything_runs(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], grid: list[str], message: str,
) -> None:
    assert main(["sweep", str(tiny), *grid, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsim sweep: ") and message in err
    assert not (tmp_path / "out").exists()


def test_workers_must_be_positive(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", str(tiny), "--workers", "0", "--out", str(tmp_path)])
    assert exit_.value.code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    terminal = _Terminal()
    bar = RunProgress(4, cached=1, stream=terminal)
    bar.advance()
    bar.close()
    assert terminal.getvalue().split("\r")[1:] == [
        "[#######.......................] 1/4 runs (1 cached)", "[###############...............] 2/4 runs (1 cached)\n",
    ]
    log = io.StringIO()
    RunProgress(4, stream=log).advance()
    assert log.getvalue() == ""


def test_equal_values_over_seeds_draw() -> None:
    """Their mean can land a rounding error outside them; the range bars must still draw."""
    rows = [{"k": "1", "seed": s, "ok": "true", "recovery_s": 0.1, "zero_allocation_s": 0.1, "p99_ms": 0.1,
             "rejected_share": 0.1, "moved": 0} for s in range(3)]
    page = _Page()
    page.feed(render("t", [Axis("k", ("1",))], rows, "mlsim sweep"))
    assert len(page.images) == 6
