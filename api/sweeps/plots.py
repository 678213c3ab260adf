"""sweep.html: one self-contained page with a plot per measured number (and the share of
runs whose SLOs held) against the first grid key, a line per value of the second (per
combination of the rest, when there are more), the mean over seeds with their range.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

from api.scenarios.report import _png as png  # noqa: E402  (the run report's figure encoder)

from .grid import Axis, parse_value  # noqa: E402
from .results import MEASURES  # noqa: E402

TITLES = {
    "ok": "share of runs with every SLO holding",
    "recovery_s": "worst time to fully allocated after an event (s)",
    "zero_allocation_s": "longest time without allocations (s)",
    "p99_ms": "worst p99 latency (ms)",
    "rejected_share": "worst rejected share",
    "moved": "allocations moved",
}


def write_sweep_html(path: Path, title: str, axes: Sequence[Axis], rows: Sequence[Mapping[str, Any]],
                     command: str) -> None:
    path.write_text(render(title, axes, rows, command), encoding="utf-8")


def render(title: str, axes: Sequence[Axis], rows: Sequence[Mapping[str, Any]], command: str) -> str:
    held = sum(1 for r in rows if r["ok"] == "true")
    images = "\n".join(
        f'<figure><img alt="{html.escape(TITLES[name])}" src="data:image/png;base64,{_figure(name, axes, rows)}">'
        f"</figure>"
        for name in ("ok", *MEASURES)
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} sweep</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:0.5em}}</style></head>
<body><h1>{html.escape(title)}: sweep</h1>
<p><code>{html.escape(command)}</code></p>
<p>{len(rows)} runs, every SLO held in {held}. The numbers are in <a href="results.csv">results.csv</a>,
each run's files under <code>runs/</code>. Points: the mean over seeds; bars: their range.</p>
{images}
</body></html>
"""


def _figure(name: str, axes: Sequence[Axis], rows: Sequence[Mapping[str, Any]]) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    first = axes[0] if axes else None
    xs = _positions(first)
    lines: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        label = ", ".join(f"{a.key}={row[a.key]}" for a in axes[1:]) or "all"
        value = (1.0 if row["ok"] == "true" else 0.0) if name == "ok" else row[name]
        if value is not None:
            lines[label][row[first.key] if first else ""].append(float(value))
    for label, by_x in lines.items():
        order = [v for v in xs if v in by_x]
        means = [sum(by_x[v]) / len(by_x[v]) for v in order]
        # clamped: a mean of equal values can land a rounding error beyond them
        low = [max(0.0, m - min(by_x[v])) for m, v in zip(means, order)]
        high = [max(0.0, max(by_x[v]) - m) for m, v in zip(means, order)]
        ax.errorbar([xs[v] for v in order], means, yerr=[low, high], marker="o", capsize=3, label=label)
    if first is not None and not _numeric(first):
        ax.set_xticks(list(xs.values()), list(xs))
    ax.set_xlabel(first.key if first else "")
    ax.set_title(TITLES[name], fontsize=10)
    ax.grid(alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.91, bottom=0.13)  # tight_layout costs as much as the drawing
    return png(fig)


def _numeric(axis: Axis) -> bool:
    return all(isinstance(parse_value(v), (int, float)) and not isinstance(parse_value(v), bool) for v in axis.values)


def _positions(axis: Axis | None) -> dict[str, float]:
    """Where each value of the first key is drawn: at its number, or evenly spaced."""
    if axis is None:
        return {"": 0.0}
    if _numeric(axis):
        return {v: float(parse_value(v)) for v in axis.values}
    return {v: float(i) for i, v in enumerate(axis.values)}
