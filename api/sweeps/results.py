"""results.csv: a row per point and seed — the grid's values, the seed, whether every SLO
held, and the run's numbers, each the worst over its deployments (as the SLO checks
measure them). No wall time and a fixed row order (grid order, then seed), so the file
is the same whichever executor ran the sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from api.scenarios.slo import CHECKS
from api.scenarios.summary import write_csv

from .work import RunTask

def _worst(check: str, missing_is_worst: bool) -> Callable[[Mapping[str, Any]], float | None]:
    """The largest value of an SLO check's measure over the deployments. With
    `missing_is_worst` one deployment without a value (never fully allocated again) makes
    the cell empty; otherwise those deployments are left out (no request served)."""

    def measure(summary: Mapping[str, Any]) -> float | None:
        values = [CHECKS[check].measure(d) for d in summary["deployments"].values()]
        if missing_is_worst and None in values:
            return None
        found = [v for v in values if v is not None]
        return max(found) if found else None

    return measure


#: The measured numbers and how each is read from summary.json.
MEASURES: dict[str, Callable[[Mapping[str, Any]], float | int | None]] = {
    "recovery_s": _worst("fully_allocated_within", missing_is_worst=True),
    "zero_allocation_s": _worst("max_zero_allocation_s", missing_is_worst=False),
    "p99_ms": _worst("p99_latency_ms", missing_is_worst=False),
    "rejected_share": _worst("max_rejected_share", missing_is_worst=False),
    "moved": lambda summary: summary["allocations_moved"],
}


def columns(keys: Sequence[str]) -> tuple[str, ...]:
    return (*keys, "seed", "ok", *MEASURES)


def result_rows(tasks: Sequence[RunTask], points: Sequence[Sequence[tuple[str, str]]],
                summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per task; `points[i]` is task i's (key, value text) pairs."""
    rows = []
    for task, settings, summary in zip(tasks, points, summaries):
        row: dict[str, Any] = dict(settings)
        row.update(seed=task.seed, ok="true" if summary["ok"] else "false")
        row.update({name: measure(summary) for name, measure in MEASURES.items()})
        rows.append(row)
    return rows


def write_results(path: Path, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    write_csv(path, columns(keys), list(rows))
