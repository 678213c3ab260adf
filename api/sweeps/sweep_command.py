"""`mlsim sweep SCENARIO --grid key=v1,v2 ... --out DIR`: every point of the grid times
seeds, in parallel (local processes or `--dask ADDRESS`), cached in DIR/runs/.

Exit status: 0 when every run finished (whatever their SLOs), 2 for an invalid scenario,
grid or point, 3 when runs could not complete (a run raised, no scheduler).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from api.scenarios.schema import ScenarioError, load_scenario
from cluster.config import ConfigError

from . import grid, options
from .engine import SweepError
from .sweep import run_sweep


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sweep",
        help="run a scenario over a grid of overrides and seeds, in parallel (locally or on Dask)",
        description="Run every point of the grid (each --grid key=v1,v2,... or key=LO..HI, combined) for each "
        "seed, in parallel, and write DIR/results.csv, DIR/sweep.html and DIR/runs/<point>/seed-<N>/. Finished "
        "runs are cached by the scenario after overrides, the seed and the mlsim version: a re-run skips them.",
    )
    options.add_run_options(parser)
    parser.add_argument("--grid", dest="axes", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="a dotted scenario key and its values, or KEY=LO..HI (repeatable; first: the plots' x)")
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory (also the cache)")
    parser.add_argument("--reports", action="store_true",
                        help="also write each run's report.html (matplotlib: seconds per run)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        axes = [grid.parse_axis(text) for text in args.axes]
        if any(axis.key == "seed" for axis in axes):
            raise ConfigError("--grid seed: seeds are chosen with --seeds")
        base = load_scenario(args.scenario, args.overrides)
        out = Path(args.out)
        outcome = run_sweep(base, axes, args.seeds, out, options.backend(args), report=args.reports,
                            progress=not args.quiet, command=_command(args))
    except (ScenarioError, ConfigError) as error:
        print(f"mlsim sweep: {error}", file=sys.stderr)
        return 2
    except SweepError as error:
        print(f"mlsim sweep: {error}", file=sys.stderr)
        return 3
    held = sum(1 for row in outcome.rows if row["ok"] == "true")
    print(f"{len(outcome.rows)} runs ({outcome.cached} cached), every SLO held in {held}; "
          f"wrote {out}/results.csv, {out}/sweep.html, {out}/runs/")
    return 0


def _command(args: argparse.Namespace) -> str:
    """The sweep's defining options, for sweep.html (not where it ran)."""
    words = ["mlsim", "sweep", args.scenario]
    words += [f"--set={text}" for text in args.overrides] + [f"--grid={text}" for text in args.axes]
    return shlex.join([*words, f"--seeds={args.seeds}"])
