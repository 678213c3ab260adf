"""`mlsim plan INSTANCE.json`: run the planner on an offline problem file.

File and stream handling live here; `scheduler.instance` turns the parsed JSON into the
planner's data. Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

import scheduler
from scheduler.instance import InstanceError, parse_instance, plan_to_json


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "plan",
        help="plan an offline instance (JSON file, or - for stdin)",
        description="Compute an allocation plan for a plan-instance JSON file and print it as JSON.",
    )
    parser.add_argument("instance", help="instance JSON file, or - to read stdin")
    parser.add_argument("--mode", choices=scheduler.PLANNER_MODES, default="elasticsearch")
    parser.add_argument("--indent", type=int, default=None, help="pretty-print the JSON output")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.instance == "-" else _read(args.instance)
        nodes, deployments = parse_instance(json.loads(text))
    except (OSError, UnicodeDecodeError) as error:
        return _fail(f"cannot read [{args.instance}]: {getattr(error, 'strerror', None) or error}")
    except json.JSONDecodeError as error:
        return _fail(f"[{args.instance}] is not valid JSON: {error}")
    except InstanceError as error:
        return _fail(f"[{args.instance}] is not a valid plan instance: {error}")
    result = scheduler.plan(nodes, deployments, mode=args.mode)
    json.dump(plan_to_json(result, sorted(deployments, key=lambda d: d.id)), sys.stdout, indent=args.indent)
    sys.stdout.write("\n")
    return 0


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _fail(message: str) -> int:
    print(f"mlsim plan: {message}", file=sys.stderr)
    return 2
