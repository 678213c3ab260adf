"""`mlsim plan INSTANCE.json`: run the planner on an offline problem file."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("plan", help="plan an offline instance (not implemented yet)")
    parser.set_defaults(run=lambda args: parser.error("not implemented yet"))
