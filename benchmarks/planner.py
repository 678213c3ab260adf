"""Planner benchmark: `python -m benchmarks.planner [--quick] [--sizes 10,100] [--repeats 3] [--es-plans DIR] [--json FILE]`.

For seeded random instances (benchmarks/instances.py) and each planner mode: compute time
(min and median over repeats), allocations placed against the LP upper bound, deployments
fully satisfied, current allocations kept and moved, and an upper bound on the needless
moves: moved minus a lower bound on the moves of any plan placing as many (see
scheduler/README.md); 0 there means no plan placing as many moves fewer. One more row
re-plans a satisfied 500-node cluster after one deployment's allocations grow by 1 (an
`_update`).

A second table times the `elasticsearch` mode on problems Elasticsearch's own planner was
timed on (`DIR/plans.jsonl` or `DIR/es_plans.json` with `es_compute_ms`, `DIR/instances/`; default the pairs in
tests/scheduler/data, `--es-plans ../shared/es-plans` for all 48): the ratio of our time to
Elasticsearch's (wall clock, and this process's CPU time, which other processes' load on
a shared machine inflates far less), and whether the plan is identical to the one
Elasticsearch computed.
A third times the `optimal` mode on benchmarks/instances/slow_optimal_*.json (500x500 once
took ten times as long as 1000x1000; see scheduler/lp.py `MERGE_ABOVE`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import scheduler
from benchmarks.instances import random_instance
from scheduler.arrays import build_arrays
from scheduler.instance import parse_instance
from scheduler.lp import fewest_moves_bound

from benchmarks.output import write_json

SIZES = (10, 50, 100, 200, 500, 1000)
QUICK_SIZES = (10, 100)
SEED = 20240611
ES_PLANS = Path(__file__).resolve().parent.parent / "tests" / "scheduler" / "data"
INSTANCES = Path(__file__).resolve().parent / "instances"


def measure(nodes: Sequence[scheduler.PlanNode], deployments: Sequence[scheduler.PlanDeployment], mode: str, repeats: int) -> dict[str, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = scheduler.plan(nodes, deployments, mode=mode)
        times.append((time.perf_counter() - started) * 1000.0)
    assert result is not None
    kept = sum(
        min(count, result.assignments[d.id].get(node, 0)) for d in deployments for node, count in d.current_allocations.items()
    )
    current = sum(d.current_total for d in deployments)
    fewest = fewest_moves(nodes, deployments, result)
    return {
        "mode": mode,
        "ms_min": round(min(times), 1),
        "ms_median": round(statistics.median(times), 1),
        "placed": sum(result.allocations(d.id) for d in deployments),
        "requested": sum(d.allocations for d in deployments),
        "satisfied": sum(result.allocations(d.id) >= d.allocations for d in deployments),
        "deployments": len(deployments),
        "kept": kept,
        "moved": current - kept,
        "fewest_moves_bound": fewest,
        "needless_at_most": current - kept - fewest,
    }


def fewest_moves(nodes: Sequence[scheduler.PlanNode], deployments: Sequence[scheduler.PlanDeployment], result: scheduler.Plan) -> int:
    """A lower bound on the current allocations any valid plan placing as many normal-priority
    allocations as `result` moves: those on nodes that left, plus the LP bound rounded up."""
    normal = [d for d in deployments if d.priority != "low" and d.allocations > 0]
    p = build_arrays(nodes, normal)
    gone = sum(d.current_total for d in normal) - int(p.current.sum())
    placed = sum(result.allocations(d.id) for d in normal)
    return gone + math.ceil(fewest_moves_bound(p, placed) - 1e-6)


def suite(sizes: Sequence[int], repeats: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED)
    rows = []
    for size in sizes:
        for demand in (0.9, 1.3):
            for zones in (1, 3):
                nodes, deployments = parse_instance(random_instance(rng, size, size, demand, zones))
                bound = scheduler.plan(nodes, deployments, mode="optimal").upper_bound
                for mode in scheduler.PLANNER_MODES:
                    row = {"case": f"{size}x{size} d{demand} z{zones}", "upper_bound": bound}
                    row.update(measure(nodes, deployments, mode, repeats))
                    rows.append(row)
    rows.extend(incremental(rng, repeats))
    return rows


def incremental(rng: np.random.Generator, repeats: int, size: int = 500) -> list[dict[str, Any]]:
    """Re-plan a satisfied cluster after one deployment asks for one more allocation."""
    nodes, deployments = parse_instance(random_instance(rng, size, size, 0.8, 1))
    settled_plan = scheduler.plan(nodes, deployments)
    settled = [
        replace(
            d,
            allocations=settled_plan.allocations(d.id),
            current_allocations=settled_plan.assignments[d.id],
            max_assigned_allocations=settled_plan.allocations(d.id),
        )
        for d in deployments
    ]
    grown = next(i for i, d in enumerate(settled) if d.priority == "normal" and d.allocations > 0)
    settled[grown] = replace(settled[grown], allocations=settled[grown].allocations + 1)
    rows = []
    for mode in scheduler.PLANNER_MODES:
        row = {"case": f"incremental {size} nodes +1", "upper_bound": None}
        row.update(measure(nodes, settled, mode, repeats))
        rows.append(row)
    return rows


def against_elasticsearch(directory: Path, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """Our `elasticsearch` mode against Elasticsearch's recorded compute time and plan."""
    rows = []
    jsonl = directory / "plans.jsonl"  # shared/es-plans; the test data holds a JSON list
    if jsonl.exists():
        records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    else:
        records = json.loads((directory / "es_plans.json").read_text())
    for recorded in records:
        name = recorded["instance"].removesuffix(".json")
        if quick and not name.startswith(("n10x10", "n100x100")):
            continue
        nodes, deployments = parse_instance(json.loads((directory / "instances" / recorded["instance"]).read_text()))
        times, cpu_times, result = [], [], None
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = scheduler.plan(nodes, deployments, mode="elasticsearch")
            times.append((time.perf_counter() - started) * 1000.0)
            cpu_times.append((time.process_time() - cpu_started) * 1000.0)
        assert result is not None
        theirs = {d: {n: c for n, c in m.items() if c} for d, m in recorded["assignments"].items()}
        ms = min(times)
        rows.append({
            "instance": name,
            "lp_used": recorded["lp_used"],
            "es_ms": recorded["es_compute_ms"],
            "ms_min": round(ms, 1),
            "ratio": round(ms / recorded["es_compute_ms"], 3),
            # this process's CPU time: on a shared machine it does not grow with others' load
            "cpu_ms_min": round(min(cpu_times), 1),
            "cpu_ratio": round(min(cpu_times) / recorded["es_compute_ms"], 3),
            "identical": {d: m for d, m in result.assignments.items() if m} == {d: m for d, m in theirs.items() if m},
        })
    return rows


def slow_optimal(repeats: int) -> list[dict[str, Any]]:
    """The optimal mode on the two instances whose compute time once did not grow with size."""
    rows = []
    for path in sorted(INSTANCES.glob("slow_optimal_*.json"), key=lambda f: len(f.read_bytes())):
        nodes, deployments = parse_instance(json.loads(path.read_text()))
        row = {"case": path.stem.removeprefix("slow_optimal_"), "upper_bound": None}
        row.update(measure(nodes, deployments, "optimal", repeats))
        row["upper_bound"] = scheduler.plan(nodes, deployments, mode="optimal").upper_bound
        rows.append(row)
    return rows


def es_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| instance | ES used LP | ES ms | mlsim ms (min) | ratio | mlsim CPU ms (min) | CPU ratio | identical plan |",
        "|" + "---|" * 8,
    ]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['lp_used']} | {r['es_ms']} | {r['ms_min']} | {r['ratio']} "
            f"| {r['cpu_ms_min']} | {r['cpu_ratio']} | {'yes' if r['identical'] else 'NO'} |"
        )
    return "\n".join(lines)


def table(rows: Sequence[dict[str, Any]]) -> str:
    head = "| case | mode | ms min | ms median | placed / requested | LP bound | satisfied | kept | moved | needless ≤ |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        bound = "" if r["upper_bound"] is None else f"{r['upper_bound']:.0f}"
        lines.append(
            f"| {r['case']} | {r['mode']} | {r['ms_min']} | {r['ms_median']} | {r['placed']} / {r['requested']} "
            f"| {bound} | {r['satisfied']} / {r['deployments']} | {r['kept']} | {r['moved']} | {r['needless_at_most']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.planner", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    parser.add_argument("--sizes", help="comma-separated cluster sizes (nodes = deployments)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--es-plans", type=Path, default=ES_PLANS, help="Elasticsearch's timed plans (see above)")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    rows = suite(sizes, max(args.repeats, 1))
    print(table(rows))
    es_rows = against_elasticsearch(args.es_plans, max(args.repeats, 1), args.quick)
    print()
    print(es_table(es_rows))
    slow_rows = [] if args.quick else slow_optimal(max(args.repeats, 1))
    if slow_rows:
        print()
        print(table(slow_rows))
    write_json(args.json_path, {"modes": rows, "against_elasticsearch": es_rows, "slow_optimal": slow_rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
