"""A run's results: the summary (what `summary.json` holds), the time series behind the
report, and how they are written. Every number is rounded and every key ordered, so the
same scenario and seed give byte-identical files.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Columns of `timeseries.csv`: one row per sample and deployment.
TIMESERIES_COLUMNS = (
    "time_s", "deployment_id", "target_allocations", "started_allocations", "routes_starting", "routes_started",
    "routes_stopping", "routes_failed", "request_rate", "completed", "rejected", "timed_out", "unrouted",
    "p50_ms", "p99_ms", "queue_depth",
)
#: Columns of `nodes.csv`: one row per sample and node (the report's heatmaps).
NODE_COLUMNS = ("time_s", "node", "memory_used_bytes", "memory_limit_bytes", "cores_used", "cores")


@dataclass
class Summary:
    """`ok` is whether every SLO holds; `to_dict()` is `summary.json`."""

    data: dict[str, Any]
    timeseries: list[dict[str, Any]] = field(default_factory=list, repr=False)
    node_series: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: Timeline events as (time, label), for marking plots.
    marks: list[tuple[float, str]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return bool(self.data["ok"])

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=False) + "\n"

    def write(self, out_dir: Path) -> None:
        """summary.json, timeseries.csv and nodes.csv (events.jsonl is written as the run goes)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(self.to_json(), encoding="utf-8")
        write_csv(out_dir / "timeseries.csv", TIMESERIES_COLUMNS, self.timeseries)
        write_csv(out_dir / "nodes.csv", NODE_COLUMNS, self.node_series)


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)
