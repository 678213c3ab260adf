"""The `mlsim` command line: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn, Sequence

from . import plan_command, serve_command
from .scenarios import run_command
from .sweeps import advise_command, sweep_command


class OneLineParser(argparse.ArgumentParser):
    """Bad options exit with status 2 and one line on stderr (`--help` shows the usage);
    subcommand parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def mlsim_version() -> str:
    try:
        return version("mlsim")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mlsim",
        description="A simulated Elasticsearch/OpenSearch ML node cluster with an allocation scheduler.",
    )
    parser.add_argument("--version", action="version", version=f"mlsim {mlsim_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (serve_command, plan_command, run_command, sweep_command, advise_command):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
