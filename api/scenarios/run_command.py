"""`mlsim run SCENARIO`: run a scenario in the experiment clock and write its outputs.

Exit status: 0 when every SLO holds, 1 when one fails, 2 for an invalid scenario (one
line on stderr naming the file and key path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runner import ScenarioRun
from .schema import ScenarioError, load_scenario
from .summary import Summary

DEFAULT_RUNS_DIR = Path("runs")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run",
        help="run a capacity-planning scenario (YAML or JSON)",
        description="Run a scenario file in simulated time and write summary.json, timeseries.csv, "
        "events.jsonl and report.html. Exit 0 when every SLO holds, 1 when one fails, 2 when the "
        "scenario is invalid.",
    )
    parser.add_argument("scenario", help="scenario file (.yaml, .yml or .json)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: runs/<name>-<seed>/)")
    parser.add_argument("--seed", type=int, help="seed of every random draw (default: the file's seed, else 0)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any key of the file, e.g. --set duration=10m --set cluster.nodes.1.count=8 (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stdout")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario, args.overrides)
    except ScenarioError as error:
        print(f"mlsim run: {error}", file=sys.stderr)
        return 2
    seed = scenario.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else DEFAULT_RUNS_DIR / f"{scenario.name}-{seed}"
    summary = ScenarioRun(scenario, seed, out, quiet=args.quiet).run()
    if not args.quiet:
        print(describe(summary, out))
    return summary.exit_status


def describe(summary: Summary, out: Path) -> str:
    """A few lines for the terminal: each SLO, then where the files are."""
    data = summary.data
    lines = [f"{data['scenario']} (seed {data['seed']}): {'every SLO holds' if summary.ok else 'SLO FAILED'}"]
    for row in data["slo"]:
        mark = "ok  " if row["ok"] else "FAIL"
        lines.append(f"  {mark} {row['deployment_id']} {row['check']}: {row['measured']} (target {row['target']:g})")
    lines.append(f"wrote {out}/summary.json, timeseries.csv, nodes.csv, events.jsonl, report.html, scenario.json")
    return "\n".join(lines)
