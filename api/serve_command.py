"""`mlsim serve`: run the simulated cluster behind its REST dialects."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("serve", help="serve the REST APIs (not implemented yet)")
    parser.set_defaults(run=lambda args: parser.error("not implemented yet"))
