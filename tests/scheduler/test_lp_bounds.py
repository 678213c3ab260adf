"""The optimal mode's LP bounds when node types are merged on big problems (lp.MERGE_ABOVE)."""

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.instances import random_instance
from scheduler import lp, plan
from scheduler.arrays import build_arrays
from scheduler.instance import parse_instance
from scheduler.memory import MiB


@pytest.mark.parametrize("seed", range(4))
def test_merging_node_types_only_relaxes_the_bounds(seed, monkeypatch):
    """Merged, the allocation bound can only grow and the moves bound only shrink, and both
    still hold for the optimal plan."""
    rng = np.random.default_rng(seed)
    nodes, deployments = parse_instance(random_instance(rng, 30, 30, float(rng.choice([0.9, 1.3])), 1))
    # every node a little different: one node type each, which merging folds together
    nodes = [replace(n, memory_bytes=n.memory_bytes - k * 37 * MiB) for k, n in enumerate(sorted(nodes, key=lambda n: n.id))]
    normal = sorted((d for d in deployments if d.priority != "low" and d.allocations > 0), key=lambda d: d.id)
    p = build_arrays(nodes, normal)
    best = plan(nodes, normal, mode="optimal")
    placed = sum(best.allocations(d.id) for d in normal)
    exact_most, exact_moves = lp.allocation_upper_bound(p), lp.fewest_moves_bound(p, placed)
    monkeypatch.setattr(lp, "MERGE_ABOVE", 0)
    assert len(lp._TypeLp(p).count) < len(nodes)  # the merge did fold nodes together
    merged_most, merged_moves = lp.allocation_upper_bound(p), lp.fewest_moves_bound(p, placed)
    assert merged_most >= exact_most - 1e-6 and merged_most >= placed - 1e-6
    assert merged_moves <= exact_moves + 1e-6
    moved = sum(max(0, c - best.assignments[d.id].get(n, 0)) for d in normal for n, c in d.current_allocations.items())
    assert merged_moves <= moved + 1e-6
