"""Sweeps and capacity search over scenarios: `mlsim sweep` (a grid of overrides times
seeds, in parallel on a local process pool or a Dask cluster, cached) and `mlsim advise`
(the smallest or largest integer value at which every SLO holds). See README "Sweeps and
capacity search"."""

from __future__ import annotations

from .advise import Search, first_holding
from .engine import Backend, Engine, SweepError
from .grid import Axis, Point, expand, parse_axis
from .sweep import SweepOutcome, run_sweep

__all__ = [
    "Axis", "Backend", "Engine", "Point", "Search", "SweepError", "SweepOutcome", "expand", "first_holding", "parse_axis",
    "run_sweep",
]
