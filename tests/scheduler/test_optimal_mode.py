"""The optimal mode: most allocations, then fewest moves, then least memory."""

import numpy as np
from sched_helpers import check_valid, dep, node

from scheduler import plan
from scheduler.arrays import build_arrays
from scheduler.milp import solve_milp


def test_places_more_than_the_size_ordered_greedy_when_overloaded():
    # ES's bin-pack packs the big 4-thread model first; its LP (small problem) and the
    # optimal mode both see that four 1-thread allocations beat one 4-thread allocation.
    nodes = [node("n1", cores=4)]
    deps = [dep("big", allocations=1, threads=4, mib=900), dep("small", allocations=4, mib=100)]
    es = plan(nodes, deps)
    best = plan(nodes, deps, mode="optimal")
    assert es.assignments == {"big": {}, "small": {"n1": 4}}
    assert best.assignments == {"big": {}, "small": {"n1": 4}}
    assert best.upper_bound == 4.0


def test_keeps_current_allocations_it_does_not_need_to_move():
    nodes = [node("n1", cores=4), node("n2", cores=4)]
    deps = [
        dep("a", allocations=2, current_allocations={"n1": 1, "n2": 1}, max_assigned_allocations=2),
        dep("b", allocations=3, current_allocations={"n1": 3}, max_assigned_allocations=3),
        dep("c", allocations=2),
    ]
    result = plan(nodes, deps, mode="optimal")
    assert result.assignments["a"] == {"n1": 1, "n2": 1}
    assert result.assignments["b"] == {"n1": 3}
    assert result.assignments["c"] == {"n2": 2}
    check_valid(nodes, deps, result)


def test_moves_an_allocation_when_that_places_more():
    # b's 2-thread allocation on n1 blocks a's; moving it to n2 lets both run
    nodes = [node("n1", cores=2), node("n2", cores=3)]
    deps = [
        dep("a", allocations=1, threads=2, current_allocations={}, max_assigned_allocations=0),
        dep("b", allocations=1, threads=2, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("c", allocations=1, threads=1, current_allocations={"n2": 1}, max_assigned_allocations=1),
    ]
    result = plan(nodes, deps, mode="optimal")
    assert sum(result.allocations(d.id) for d in deps) == 3
    assert result.assignments["c"] == {"n2": 1}
    check_valid(nodes, deps, result)


def test_fits_fewer_allocations_where_memory_metadata_limits_them():
    # ES's greedy step tries all 4 and gives up; optimal places the 3 that fit
    nodes = [node("n1", gib=1, cores=8)]
    d = dep("d1", allocations=4, per_deployment_memory_bytes=300 * 1024**2, per_allocation_memory_bytes=200 * 1024**2)
    assert plan([*nodes], [d], mode="optimal").assignments == {"d1": {"n1": 3}}


def test_low_priority_smallest_first_no_cores():
    nodes = [node("n1", gib=1, cores=1)]
    deps = [dep("n", allocations=1, mib=10), dep("l-big", priority="low", mib=200), dep("l-a", priority="low", mib=10),
            dep("l-b", priority="low", mib=10)]
    result = plan(nodes, deps, mode="optimal")
    # 260 MiB normal leaves 764 MiB: the two 260 MiB low models fit, the 640 MiB one not
    assert result.assignments["l-a"] and result.assignments["l-b"] and not result.assignments["l-big"]
    check_valid(nodes, deps, result)


def test_an_update_on_a_settled_cluster_keeps_everything_and_places_the_new_allocation():
    nodes = [node("n1", cores=4), node("n2", cores=4)]
    deps = [
        dep("a", allocations=3, current_allocations={"n1": 2}, max_assigned_allocations=2),
        dep("b", allocations=2, current_allocations={"n1": 1, "n2": 1}, max_assigned_allocations=2),
        dep("c", allocations=2, current_allocations={"n2": 2}, max_assigned_allocations=2),
    ]
    result = plan(nodes, deps, mode="optimal")
    assert result.assignments == {"a": {"n1": 3}, "b": {"n1": 1, "n2": 1}, "c": {"n2": 2}}
    assert result.upper_bound == 7.0 and result.reasons == {}


def test_a_missing_allocation_that_fits_nowhere_falls_back_to_the_full_optimisation():
    # a's new allocation needs 2 free cores on one node: only moving b makes room
    nodes = [node("n1", cores=3), node("n2", cores=3)]
    deps = [
        dep("a", allocations=2, threads=2, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("b", allocations=2, current_allocations={"n1": 1, "n2": 1}, max_assigned_allocations=2),
    ]
    result = plan(nodes, deps, mode="optimal")
    assert sum(result.allocations(d.id) for d in deps) == 4
    check_valid(nodes, deps, result)


def test_the_milp_finds_a_strictly_better_plan_or_proves_there_is_none():
    nodes = [node("n1", cores=4), node("n2", cores=2)]
    deps = [
        dep("a", allocations=2, threads=2, current_allocations={"n1": 1}, max_assigned_allocations=1),
        dep("b", allocations=2),
    ]
    p = build_arrays(nodes, deps)
    empty = np.zeros(p.shape, dtype=np.int64)
    better, bound = solve_milp(p, 10.0, empty, 4)
    assert better.sum() == 4 and better[0, 0] >= 1  # all placed, a's allocation kept
    again, bound = solve_milp(p, 10.0, better, 4)
    assert again is None and bound == 4.0


def test_the_upper_bound_is_a_whole_number_of_allocations():
    # 3 cores hold one 2-thread allocation; the LP relaxation would claim 1.5
    result = plan([node("n1", cores=3)], [dep("a", allocations=2, threads=2)], mode="optimal")
    assert result.assignments == {"a": {"n1": 1}}
    assert result.upper_bound == 1.0
