"""Sweep benchmark: `python -m benchmarks.sweeps [--quick] [--json FILE] [--workers 1,2]`.

Wall-clock time of one 24-point x 3-seed sweep (`mlsim sweep`'s path: runs on a local
process pool, their files written, results.csv and sweep.html) of the example
examples/sweeps/zone-loss-capacity.yaml (15 simulated minutes, a zone lost at 5),
over 6 node counts x 4 traffic rates, with 1 and with 2 worker processes, each into an
empty directory (nothing cached), then the same sweep again (everything cached). The
machine may be shared: the 1-minute load average before and after each sweep is printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from api.scenarios import load_scenario
from api.sweeps import Backend, parse_axis, run_sweep

from benchmarks.output import write_json

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "zone-loss-capacity.yaml"
GRID = ("cluster.nodes.0.count=2..7", "traffic.0.rate=50,100,200,400")
SEEDS = 3


def measure(workers: int, overrides: list[str]) -> dict[str, Any]:
    base = load_scenario(EXAMPLE, overrides)
    axes = [parse_axis(text) for text in GRID]
    with tempfile.TemporaryDirectory() as out:
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        outcome = run_sweep(base, axes, SEEDS, Path(out), Backend(workers=workers), progress=False)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        load_after = os.getloadavg()[0]
        started = time.perf_counter()
        again = run_sweep(base, axes, SEEDS, Path(out), Backend(workers=workers), progress=False)
        cached_wall = time.perf_counter() - started
    assert again.cached == len(again.rows) and again.rows == outcome.rows
    return {
        "workers": workers, "runs": len(outcome.rows), "simulated_seconds_per_run": base.duration,
        "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "runs_per_wall_second": round(len(outcome.rows) / wall, 2),
        "cached_rerun_wall_seconds": round(cached_wall, 2),
        "load_average_before": round(load_before, 2), "load_average_after": round(load_after, 2),
        "cpus": os.cpu_count(),
    }


def _cpu_seconds() -> float:
    """User and system time of this process and its finished children (the pool's
    workers, once it has shut down): with the load average, whether a core was free."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweeps", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 simulated minutes a run instead of 15")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated (default 1,2)")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    overrides = ["duration=2m", "timeline.0.at=1m"] if args.quick else []
    rows = [measure(int(w), overrides) for w in args.workers.split(",")]
    print(f"{EXAMPLE.name}: {' x '.join(GRID)} x {SEEDS} seeds, {rows[0]['simulated_seconds_per_run']:g} simulated s a "
          f"run, local process pool, {rows[0]['cpus']} CPUs")
    print("| workers | runs | wall s | CPU s | runs / wall s | cached re-run wall s | load avg before | load avg after |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['workers']} | {row['runs']} | {row['wall_seconds']} | {row['cpu_seconds']} | {row['runs_per_wall_second']} "
              f"| {row['cached_rerun_wall_seconds']} | {row['load_average_before']} | {row['load_average_after']} |")
    write_json(args.json_path, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
