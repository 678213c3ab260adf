"""The `mlsim` command line: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import plan_command, serve_command
from .scenarios import run_command
from .sweeps import advise_command, sweep_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlsim",
        description="A simulated Elasticsearch/OpenSearch ML node cluster with an allocation scheduler.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (serve_command, plan_command, run_command, sweep_command, advise_command):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
