"""The optimal mode's greedy plans and their polish (repair.py)."""

import numpy as np
from sched_helpers import dep, node

from scheduler.arrays import build_arrays
from scheduler.greedy import fill_around_current, fill_by_class, keep_then_fill
from scheduler.repair import fill_holes, restore_moves


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


def test_fill_by_class_keeps_a_current_allocation_over_a_new_one_of_its_class():
    # room for two 2-thread allocations: b's two new ones or a's current one and one of b's;
    # as many either way, and only the second moves nothing
    nodes = [node("n1", cores=4)]
    deps = [
        dep("a", threads=2, mib=400, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("b", allocations=2, threads=2, mib=100),
    ]
    p = build_arrays(nodes, deps)
    assert fill_around_current(p).tolist() == [[0], [2]]
    assert fill_by_class(p).tolist() == [[1], [1]]


def test_fill_holes_merges_spare_cores_of_two_nodes_for_one_more_allocation():
    # one spare core on each node; moving one of s's new allocations makes two on n1 for t
    nodes = [node("n1", cores=3), node("n2", cores=3)]
    deps = [dep("s", allocations=4), dep("t", threads=2)]
    p = build_arrays(nodes, deps)
    alloc = fill_holes(p, np.array([[2, 2], [0, 0]]))
    assert alloc.tolist() == [[1, 3], [1, 0]]


def test_restore_drops_a_new_allocation_elsewhere_to_put_a_current_one_back():
    # d's current 4-thread allocation on n1 lost to e's two new 2-thread ones; dropping f's
    # new allocation on n2 gives e room there: as many placed, d back in place
    nodes = [node("n1", cores=4), node("n2", cores=4)]
    deps = [
        dep("d", threads=4, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("e", allocations=2, threads=2),
        dep("f", threads=4),
    ]
    p = build_arrays(nodes, deps)
    alloc = restore_moves(p, np.array([[0, 0], [2, 0], [0, 1]]))
    assert alloc.tolist() == [[1, 0], [0, 2], [0, 0]]
