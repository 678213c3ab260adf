"""The optimal mode's greedy plans."""

import numpy as np
from sched_helpers import dep, node

from scheduler.arrays import build_arrays
from scheduler.greedy import fill_around_current, keep_then_fill


def test_fill_around_current_drops_an_expensive_current_allocation_for_more_cheap_ones():
    # big's 4-thread allocation holds n1's cores; four 1-thread allocations of small count more
    nodes = [node("n1", cores=4)]
    deps = [
        dep("big", threads=4, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("small", allocations=4),
    ]
    p = build_arrays(nodes, deps)
    assert keep_then_fill(p).tolist() == [[1], [0]]
    assert fill_around_current(p).tolist() == [[0], [4]]


def test_fill_around_current_uses_free_capacity_before_taking_a_current_node():
    # small fits on n2 without touching big's node, so nothing moves
    nodes = [node("n1", cores=4), node("n2", cores=4)]
    deps = [
        dep("big", threads=4, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("small", allocations=4),
    ]
    alloc = fill_around_current(build_arrays(nodes, deps))
    assert alloc.tolist() == [[1, 0], [0, 4]]


def test_fill_steps_stop_where_per_allocation_memory_runs_out():
    # 300 MiB + 200 MiB per allocation on 1 GiB: three fit, not four
    nodes = [node("n1", gib=1, cores=8)]
    d = dep("d1", allocations=4, per_deployment_memory_bytes=300 * 1024**2, per_allocation_memory_bytes=200 * 1024**2)
    assert np.array_equal(keep_then_fill(build_arrays(nodes, [d])), [[3]])
