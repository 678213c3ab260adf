"""A sweep: every point of a grid times seeds, run through the engine (cached), then
results.csv and sweep.html written from the summaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from api.scenarios.schema import Scenario

from .engine import Backend, Engine
from .grid import Axis, expand
from .plan import plan_runs
from .results import result_rows, write_results
from .store import RunStore
from .work import mlsim_version


@dataclass(frozen=True)
class SweepOutcome:
    rows: list[dict[str, Any]]
    #: Runs found finished in the output directory (not run again).
    cached: int


def run_sweep(base: Scenario, axes: Sequence[Axis], seeds: int, out_dir: Path, backend: Backend,
              report: bool = False, progress: bool = True, command: str = "") -> SweepOutcome:
    """Run (or find) every run, write results.csv and sweep.html into `out_dir`."""
    from .plots import write_sweep_html  # matplotlib only once there is something to draw

    points = expand(axes)
    tasks = plan_runs(base, points, seeds, files=True, report=report)
    with Engine(backend) as engine:
        summaries, cached = engine.run(tasks, RunStore(out_dir, mlsim_version()), progress)
    settings = [p.settings for p in points for _ in range(seeds)]
    rows = result_rows(tasks, settings, summaries)
    keys = [a.key for a in axes]
    write_results(out_dir / "results.csv", keys, rows)
    write_sweep_html(out_dir / "sweep.html", base.name, axes, rows, command)
    return SweepOutcome(rows, cached)
