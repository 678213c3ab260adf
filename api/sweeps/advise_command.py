"""`mlsim advise SCENARIO --vary key=LO..HI`: the smallest integer value of a key (the
largest with `--maximize`) at which every SLO holds in every seed, by binary search over
runs done the way `mlsim sweep` does them.

Exit status: 0 with an answer, 1 when no value in the range holds, 2 for an invalid
scenario or range, 3 when runs could not complete.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping

from api.scenarios.schema import Scenario, ScenarioError, load_scenario
from cluster.config import ConfigError

from . import grid, options
from .advise import Evaluate, Search, first_holding
from .engine import Engine, SweepError
from .plan import plan_runs
from .store import RunStore
from .work import mlsim_version


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "advise",
        help="find the smallest (or largest) value of an integer key at which every SLO holds",
        description="Binary search over KEY in LO..HI for the smallest value at which every SLO holds in every "
        "seed (--maximize: the largest). When a tried value contradicts that larger values keep holding (smaller, "
        "with --maximize), it says so and tries every value instead.",
    )
    options.add_run_options(parser)
    parser.add_argument("--vary", required=True, metavar="KEY=LO..HI", help="the dotted integer key and its range")
    parser.add_argument("--maximize", action="store_true",
                        help="the largest value that still holds (e.g. a traffic rate at a p99 target)")
    parser.add_argument("--probes", type=options.positive, default=1, metavar="N",
                        help="values tried at once per round (default 1: a binary search)")
    parser.add_argument("--json", action="store_true", help='print {"key", "answer", "tried": [{"value", "ok"}]}')
    parser.add_argument("--out", metavar="DIR", help="keep each run's files in DIR/runs/ (and reuse finished ones)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        key, text = grid.parse_key_value(args.vary, "--vary")
        if key == "seed":
            raise ConfigError("--vary seed: seeds are chosen with --seeds")
        low, high = grid.parse_range(text, f"--vary {key}")
        base = load_scenario(args.scenario, args.overrides)
        plan_runs(base, [grid.Point(((key, str(low)),)), grid.Point(((key, str(high)),))], 1)  # both ends valid
        values = list(range(low, high + 1))
        with Engine(options.backend(args)) as engine:
            evaluate = _evaluator(base, key, args.seeds, engine, args.out, not args.quiet)
            search = first_holding(values[::-1] if args.maximize else values, evaluate, args.probes)
    except (ScenarioError, ConfigError) as error:
        print(f"mlsim advise: {error}", file=sys.stderr)
        return 2
    except SweepError as error:
        print(f"mlsim advise: {error}", file=sys.stderr)
        return 3
    print(_json(key, search) if args.json else _text(key, low, high, args.seeds, args.maximize, search))
    if search.contradiction is not None and args.json:
        print(_contradiction(key, search.contradiction), file=sys.stderr)
    return 0 if search.answer is not None else 1


def _evaluator(base: Scenario, key: str, seeds: int, engine: Engine, out: str | None, progress: bool) -> Evaluate:
    """Runs each value's seeds (all values of a round at once); a value holds when every
    seed's SLOs held."""
    store = RunStore(Path(out), mlsim_version()) if out else None

    def evaluate(values: list[int]) -> Mapping[int, bool]:
        tasks = plan_runs(base, [grid.Point(((key, str(v)),)) for v in values], seeds, files=store is not None)
        summaries, _ = engine.run(tasks, store, progress)
        held = dict.fromkeys(values, True)
        for value, summary in zip((v for v in values for _ in range(seeds)), summaries):
            held[value] = held[value] and bool(summary["ok"])
        return held

    return evaluate


def _json(key: str, search: Search) -> str:
    return json.dumps({
        "key": key, "answer": search.answer, "monotone": search.contradiction is None,
        "tried": [{"value": value, "ok": ok} for value, ok in search.tried],
    })


def _text(key: str, low: int, high: int, seeds: int, maximize: bool, search: Search) -> str:
    which = "largest" if maximize else "smallest"
    found = "none holds" if search.answer is None else str(search.answer)
    lines = [f"{which} {key} in {low}..{high} with every SLO holding in {seeds} seed(s): {found}"]
    if search.contradiction is not None:
        lines.append(_contradiction(key, search.contradiction))
    lines.append("tried, in order:")
    lines += [f"  {key}={value}  {'ok' if ok else 'FAIL'}" for value, ok in search.tried]
    return "\n".join(lines)


def _contradiction(key: str, pair: tuple[int, int]) -> str:
    held, failed = pair
    return (f"not monotone: {key}={held} holds but {key}={failed} fails, so a binary search cannot be trusted; "
            f"every value was tried")
