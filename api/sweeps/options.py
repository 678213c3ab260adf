"""Options `mlsim sweep` and `mlsim advise` share: seeds, `--set`, and where runs execute."""

from __future__ import annotations

import argparse

from .engine import Backend


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got [{text}]") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got [{text}]")
    return value


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (.yaml, .yml or .json), as `mlsim run` takes it")
    parser.add_argument("--seeds", type=positive, default=1, metavar="N",
                        help="seeds per point: the scenario's seed and the next N-1 (default 1)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a key of the file for every run, as `mlsim run --set` (repeatable)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive, metavar="N", help="local worker processes (default: one per CPU)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run on a Dask cluster through its scheduler, e.g. tcp://127.0.0.1:8786")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def backend(args: argparse.Namespace) -> Backend:
    return Backend(workers=args.workers, dask=args.dask)
