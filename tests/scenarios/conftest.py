"""A small scenario to vary: two zones, one model (100 MB: 2 s process start + 1 s load),
one deployment of 2 allocations under light Poisson traffic."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE: dict[str, Any] = {
    "name": "small",
    "seed": 3,
    "duration": "5m",
    "sample_every": "10s",
    "cluster": {
        "settings": {"timing": {"process_start_seconds": "2s", "load_bandwidth_bytes_per_second": "100mb"}},
        "nodes": [
            {"name": "ml-a", "machine_memory": "16gb", "allocated_processors": 4, "zone": "a"},
            {"name": "ml-b", "machine_memory": "16gb", "allocated_processors": 4, "zone": "b"},
        ],
    },
    "models": [{"model_id": "m", "model_bytes": "100mb", "inference": {"mean_ms": 10, "distribution": "deterministic"}}],
    "deployments": [{"model_id": "m", "deployment_id": "d", "number_of_allocations": 2, "cache_size": 0}],
    "traffic": [{"deployment_id": "d", "kind": "poisson", "rate": 20}],
}


def scenario(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


@pytest.fixture
def base() -> dict[str, Any]:
    return scenario()
