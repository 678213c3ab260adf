"""A tiny, fast scenario to sweep: nodes of 4 processors over two zones, a deployment of 4
single-thread allocations under light traffic, one node crashed at 20 s of a 40-second run
(so recovery is measured); `cluster.nodes.0.count` and `traffic.0.rate` are the knobs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 11,
    "duration": "40s",
    "sample_every": "20s",
    "cluster": {
        "settings": {"timing": {"process_start_seconds": "2s", "load_bandwidth_bytes_per_second": "100mb"}},
        "nodes": [{"count": 2, "machine_memory": "8gb", "allocated_processors": 2, "zones": ["a", "b"]}],
    },
    "models": [{"model_id": "m", "model_bytes": "50mb", "inference": {"mean_ms": 20, "distribution": "lognormal", "cv": 0.5}}],
    "deployments": [{"model_id": "m", "deployment_id": "d", "number_of_allocations": 4, "queue_capacity": 50}],
    "traffic": [{"deployment_id": "d", "kind": "poisson", "rate": 10}],
    "timeline": [{"at": "20s", "do": "crash_nodes", "nodes": ["ml-1"]}],
    "slo": [{"deployment_id": "d", "fully_allocated_within": "20s", "p99_latency_ms": 200}],
}
#: 6 x 4 = 24 points.
GRID = ["--grid", "cluster.nodes.0.count=2..7", "--grid", "traffic.0.rate=5,10,40,160"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
