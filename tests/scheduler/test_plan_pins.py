"""Pinned elasticsearch-mode plans: speed-ups of that mode must not change a single plan.

Each case is a seeded random cluster (zones, memory metadata, ELSER, caches, low priority,
current placements on nodes that left or over capacity); the hash covers assignments and
reasons. A changed hash means the mode's behaviour changed, which needs a README deviation
note and new pins, never just new pins.
"""

import hashlib

import numpy as np
import pytest

from scheduler import PlanDeployment, PlanNode, plan
from scheduler.memory import MiB

PINS = {
    0: "81694a85dc44adcb",
    1: "6e43bd20f66ab432",
    2: "52bb04b201cd2b90",
    3: "7b817725b89bed9a",
    4: "485dc8ad51e16d01",
    5: "d031f3452efe93c1",
    6: "8974aa2b642c3ac4",
    7: "1aaff9ecbc2776aa",
    8: "beb12a829b34f447",
    9: "fbec5fe92159ef16",
    10: "3e6d36df88e62bef",
    11: "4a4a7019d8866eda",
    12: "c88eaa2f43754b8e",
    13: "9d44aae8961205d0",
    14: "484f9017fc78bbb2",
    15: "87d2c6849734a4db",
    16: "16e1bec20022ab5c",
    17: "94c98cda380efa50",
    18: "cf4ffc88fad2486c",
    19: "530de05dfa2c6bb3",
    20: "147a69ba3df467b5",
    21: "3f73255f27699346",
    22: "5cd6b6b3ec162d54",
    23: "f485b81229aca027",
    100: "d4acf0448cc73a63",
    101: "453095403262acc9",
}


def cluster(seed: int, n_nodes: int, n_deps: int) -> tuple[list[PlanNode], list[PlanDeployment]]:
    rng = np.random.default_rng(seed)
    zones = [""] if seed % 3 == 0 else [f"z{k}" for k in range(1 + seed % 3)]
    nodes = [
        PlanNode(f"n{i:02d}", int(rng.integers(300, 8000)) * MiB, int(rng.integers(0, 17)), str(rng.choice(zones)))
        for i in range(n_nodes)
    ]
    deployments = []
    for i in range(n_deps):
        low = rng.random() < 0.15
        metadata = rng.random() < 0.3
        current = {n: int(rng.integers(1, 4)) for n in [x.id for x in nodes] + ["gone"] if rng.random() < 0.2}
        deployments.append(
            PlanDeployment(
                id=f"d{i:02d}",
                model_id=".elser_model_2" if rng.random() < 0.1 else f"m{i}",
                model_bytes=int(rng.integers(1, 1500)) * MiB,
                allocations=1 if low else int(rng.integers(0, 9)),
                threads_per_allocation=1 if low else int(rng.choice([1, 2, 4, 8])),
                priority="low" if low else "normal",
                per_deployment_memory_bytes=int(rng.integers(0, 400)) * MiB if metadata else 0,
                per_allocation_memory_bytes=int(rng.integers(0, 200)) * MiB if metadata else 0,
                cache_size=int(rng.integers(1, 2000)) * MiB if rng.random() < 0.1 else None,
                current_allocations=current,
                max_assigned_allocations=int(rng.integers(0, 4)),
            )
        )
    return nodes, deployments


CASES = [(seed, 3 + seed % 10, 2 + (7 * seed) % 25) for seed in range(24)] + [(100, 40, 60), (101, 60, 40)]


def fingerprint(seed: int, n_nodes: int, n_deps: int) -> str:
    result = plan(*cluster(seed, n_nodes, n_deps))
    text = repr((sorted((k, sorted(v.items())) for k, v in result.assignments.items()), sorted(result.reasons.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.mark.parametrize("seed,n_nodes,n_deps", CASES)
def test_elasticsearch_plans_are_pinned(seed, n_nodes, n_deps):
    assert fingerprint(seed, n_nodes, n_deps) == PINS[seed]
