"""report.html: one self-contained page (PNG images inline) — allocations against target
per deployment with the timeline's events marked, node memory and cores over time as
heatmaps, traffic, latency and refusals, the SLO table and the timeline's outcomes.

Plots come from the summary's time series alone, so a report can be redrawn from a run.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)
import numpy as np  # noqa: E402

from .schema import Scenario  # noqa: E402
from .summary import Summary  # noqa: E402

#: Deployments drawn one panel each; more are drawn as totals.
MAX_PANELS = 12
FIGURE_WIDTH = 10.0


def write_report(path: Path, scenario: Scenario, summary: Summary) -> None:
    path.write_text(render_report(scenario, summary), encoding="utf-8")


def figures(summary: Summary) -> dict[str, str]:
    """The report's pictures as PNG bytes in base64, by name (the README shows some)."""
    series = _by_deployment(summary.timeseries)
    return {
        "allocations": _png(_allocations_figure(series, summary.marks)),
        "nodes": _png(_nodes_figure(summary.node_series, summary.marks)),
        "traffic": _png(_traffic_figure(series, summary.marks)),
    }


def save_figures(summary: Summary, directory: Path, prefix: str) -> list[Path]:
    """Write the pictures as PNG files (for documentation)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in figures(summary).items():
        path = directory / f"{prefix}-{name}.png"
        path.write_bytes(base64.b64decode(data))
        paths.append(path)
    return paths


def render_report(scenario: Scenario, summary: Summary) -> str:
    data = summary.data
    images = figures(summary)
    verdict = "every SLO holds" if summary.ok else "an SLO failed"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{_e(data['scenario'])} — mlsim report</title>",
        "<style>body{font-family:sans-serif;max-width:1040px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}.ok{color:#176b2c}.fail{color:#b00020;font-weight:bold}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{_e(data['scenario'])}</h1>",
        f"<p>{_e(scenario.description)}</p>" if scenario.description else "",
        f"<p>seed {data['seed']}, {data['duration_s']:g} simulated seconds, {data['rebalances']} rebalances, "
        f"{data['allocations_moved']} allocations moved — <span class='{'ok' if summary.ok else 'fail'}'>{verdict}</span></p>",
        "<h2>Service-level objectives</h2>",
        _table(("deployment", "check", "target", "measured", ""), (
            (r["deployment_id"], r["check"], f"{r['target']:g}", _fmt(r["measured"]),
             "<span class='ok'>ok</span>" if r["ok"] else "<span class='fail'>FAIL</span>")
            for r in data["slo"]
        ), raw_last=True) if data["slo"] else "<p>No SLO checks.</p>",
        "<h2>Allocations</h2>",
        f"<img alt='allocations against target' src='data:image/png;base64,{images['allocations']}'>",
        "<h2>Nodes</h2>",
        f"<img alt='node memory and cores' src='data:image/png;base64,{images['nodes']}'>",
        "<h2>Traffic, latency and refusals</h2>",
        f"<img alt='traffic and latency' src='data:image/png;base64,{images['traffic']}'>",
        "<h2>Deployments</h2>",
        _table(("deployment", "offered", "completed", "rejected", "timed out", "unrouted", "p50 ms", "p95 ms", "p99 ms",
                "s without allocation"), (
            (d, r["requests"]["offered"], r["requests"]["completed"], r["requests"]["rejected"], r["requests"]["timed_out"],
             r["requests"]["unrouted"], _fmt(r["latency_ms"]["p50"]), _fmt(r["latency_ms"]["p95"]),
             _fmt(r["latency_ms"]["p99"]), _fmt(r["zero_allocation_s"]))
            for d, r in data["deployments"].items()
        )),
        "<h2>Timeline</h2>",
        _table(("#", "at s", "action", "outcome", "fully allocated again after s"), (
            (o["event"], _fmt(o["at_s"]), o["do"], _outcome(o), _recovery(data, o["event"]))
            for o in data["timeline"]
        )) if data["timeline"] else "<p>No timeline events.</p>",
        "</body></html>",
    ]
    return "".join(parts) + "\n"


# -- figures ----------------------------------------------------------------------------


def _by_deployment(rows: list[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["deployment_id"]].append(row)
    return {
        d: {key: np.array([np.nan if r[key] is None else r[key] for r in rs], dtype=float)
            for key in rs[0] if key != "deployment_id"}
        for d, rs in sorted(grouped.items())
    }


def _hours(seconds: np.ndarray | float) -> np.ndarray | float:
    return np.asarray(seconds) / 3600.0


def _mark(axes: Iterable[Any], marks: list[tuple[float, str]], label: bool = False) -> None:
    for ax in axes:
        for t, text in marks:
            ax.axvline(_hours(t), color="#b00020", linewidth=0.8, linestyle="--", alpha=0.7)
            if label:
                ax.annotate(text, (_hours(t), 1.0), xycoords=("data", "axes fraction"), rotation=90,
                            fontsize=7, va="top", ha="right", color="#b00020")


def _allocations_figure(series: dict[str, dict[str, np.ndarray]], marks: list[tuple[float, str]]):
    if not series:
        return _empty("no deployments")
    if len(series) > MAX_PANELS:
        fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 3.2))
        times = sorted({x for s in series.values() for x in s["time_s"].tolist()})
        target = _summed(series, "target_allocations", times)
        started = _summed(series, "started_allocations", times)
        ax.step(_hours(np.array(times)), target, where="post", label="target (all deployments)", color="#888")
        ax.step(_hours(np.array(times)), started, where="post", label="started (all deployments)", color="#1f77b4")
        ax.set_ylabel("allocations")
        ax.legend(loc="lower right", fontsize=8)
        _mark([ax], marks, label=True)
        ax.set_xlabel("simulated hours")
        fig.tight_layout()
        return fig
    n = len(series)
    cols = 1 if n <= 3 else 2
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(FIGURE_WIDTH, 1.9 * rows + 0.6), sharex=True, squeeze=False)
    for ax, (deployment_id, s) in zip(axes.flat, series.items()):
        t = _hours(s["time_s"])
        ax.step(t, s["started_allocations"], where="post", color="#1f77b4", label="started")
        ax.step(t, s["target_allocations"], where="post", color="#444", linestyle=":", label="target")
        ax.set_title(deployment_id, fontsize=9, loc="left")
        ax.set_ylim(bottom=0)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    _mark(axes.flat[:n], marks)
    _mark(axes.flat[:1], marks, label=True)
    axes.flat[0].legend(loc="lower right", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("simulated hours")
    fig.tight_layout()
    return fig


def _summed(series: dict[str, dict[str, np.ndarray]], key: str, times: list[float]) -> np.ndarray:
    index = {t: i for i, t in enumerate(times)}
    total = np.zeros(len(times))
    for s in series.values():
        for t, v in zip(s["time_s"].tolist(), s[key].tolist()):
            total[index[t]] += v
    return total


def _nodes_figure(rows: list[dict[str, Any]], marks: list[tuple[float, str]]):
    if not rows:
        return _empty("no nodes")
    nodes = list(dict.fromkeys(r["node"] for r in rows))
    times = sorted({r["time_s"] for r in rows})
    col = {t: i for i, t in enumerate(times)}
    memory = np.full((len(nodes), len(times)), np.nan)
    cores = np.full((len(nodes), len(times)), np.nan)
    for r in rows:
        i, j = nodes.index(r["node"]), col[r["time_s"]]
        memory[i, j] = 100.0 * r["memory_used_bytes"] / r["memory_limit_bytes"] if r["memory_limit_bytes"] else 0.0
        cores[i, j] = 100.0 * r["cores_used"] / r["cores"] if r["cores"] else 0.0
    height = max(1.6, 0.22 * len(nodes) + 0.9)
    fig, axes = plt.subplots(2, 1, figsize=(FIGURE_WIDTH, 2 * height + 0.4), sharex=True)
    extent = (_hours(times[0]), _hours(times[-1]) if len(times) > 1 else _hours(times[0]) + 1e-3, len(nodes) - 0.5, -0.5)
    for ax, values, title in ((axes[0], memory, "model memory used, % of the node's pool"),
                              (axes[1], cores, "allocated cores used, %")):
        image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", interpolation="nearest", cmap="viridis",
                          vmin=0, vmax=100, extent=extent)
        ax.set_yticks(range(len(nodes)))
        ax.set_yticklabels(nodes, fontsize=7 if len(nodes) > 12 else 8)
        ax.set_title(title, fontsize=9, loc="left")
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    _mark(axes, marks)
    axes[1].set_xlabel("simulated hours (blank: node not in the cluster)")
    fig.tight_layout()
    return fig


def _traffic_figure(series: dict[str, dict[str, np.ndarray]], marks: list[tuple[float, str]]):
    """One line per deployment; with more than `MAX_PANELS`, the total rate, the worst p99
    and the total refused instead."""
    fig, axes = plt.subplots(3, 1, figsize=(FIGURE_WIDTH, 7.2), sharex=True)
    lines = {d: (s["time_s"], s["request_rate"], s["p99_ms"], s["rejected"] + s["unrouted"] + s["timed_out"])
             for d, s in series.items()}
    if len(series) > MAX_PANELS:
        times = sorted({x for s in series.values() for x in s["time_s"].tolist()})
        worst = np.full(len(times), np.nan)
        index = {t: i for i, t in enumerate(times)}
        for s in series.values():
            at = [index[t] for t in s["time_s"].tolist()]
            worst[at] = np.fmax(worst[at], s["p99_ms"])
        refused = sum(_summed({d: {"time_s": s["time_s"], "v": s[k]}}, "v", times)
                      for d, s in series.items() for k in ("rejected", "unrouted", "timed_out"))
        lines = {f"all {len(series)} deployments (p99: the worst)": (
            np.array(times), _summed(series, "request_rate", times), worst, refused)}
    for label, (t, rate, p99, refused) in lines.items():
        axes[0].plot(_hours(t), rate, linewidth=0.9, label=label)
        axes[1].plot(_hours(t), p99, linewidth=0.9, label=label)
        axes[2].plot(_hours(t), refused, linewidth=0.9, label=label)
    axes[0].set_ylabel("requests / s")
    axes[1].set_ylabel("p99 latency ms")
    axes[2].set_ylabel("refused + timed out\nper sample")
    if any(np.nanmax(p99, initial=0) > 0 for _, _, p99, _ in lines.values()):
        axes[1].set_yscale("log")
    if lines:
        axes[0].legend(loc="upper right", fontsize=7, ncol=min(len(lines), 4))
    _mark(axes, marks)
    axes[2].set_xlabel("simulated hours")
    fig.tight_layout()
    return fig


def _empty(text: str):
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 1.0))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return fig


def _png(fig) -> str:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(out.getvalue()).decode("ascii")


# -- tables -----------------------------------------------------------------------------


def _table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]], raw_last: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = [f"<td>{_e(c)}</td>" for c in row[:-1]]
        last = row[-1]
        cells.append(f"<td>{last if raw_last else _e(last)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _outcome(o: dict[str, Any]) -> str:
    if "skipped" in o:
        return f"skipped: {o['skipped']}"
    if o.get("ok"):
        details = {k: v for k, v in o.items() if k not in ("event", "at_s", "do", "ok")}
        return "ok" + (f" {details}" if details else "")
    return f"refused ({o.get('status')}): {o.get('error')}"


def _recovery(data: dict[str, Any], event: int) -> str:
    found = [
        f"{d}: {_fmt(r['fully_allocated_after_s']) if r['fully_allocated_after_s'] is not None else 'never'}"
        for d, entry in data["deployments"].items()
        for r in entry["recoveries"]
        if r["event"] == event
    ]
    return "; ".join(found)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value))
