"""The optimal mode never makes a needless move: checked against every plan of tiny clusters.

A plan's needless moves are its moves minus the fewest moves of any valid plan placing at
least as many allocations (scheduler/README.md). On clusters small enough to enumerate every
plan, the optimal mode must place the most and, at that count, move the fewest; the LP
bounds it uses for its proofs must hold against the enumeration.
"""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import patch

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_helpers import check_valid

from scheduler import PlanDeployment, PlanNode, optimal, plan
from scheduler.arrays import build_arrays
from scheduler.elasticsearch_mode import plan_elasticsearch
from scheduler.greedy import fill_around_current, fill_by_class, keep_then_fill
from scheduler.lp import allocation_upper_bound, fewest_moves_bound
from scheduler.memory import MiB
from scheduler.milp import is_valid
from scheduler.optimal import polish
from scheduler.repair import fill_holes, restore_moves

PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tiny_clusters(draw):
    """Normal-priority deployments with current placements, some over what fits now."""
    nodes = [
        PlanNode(f"n{i}", draw(st.integers(300, 3000)) * MiB, draw(st.integers(1, 6)))
        for i in range(draw(st.integers(1, 3)))
    ]
    deployments = []
    for i in range(draw(st.integers(1, 3))):
        metadata = draw(st.booleans())
        current = {n.id: draw(st.integers(1, 2)) for n in nodes if draw(st.integers(0, 2)) == 0}
        deployments.append(
            PlanDeployment(
                id=f"d{i}",
                model_id=f"m{i}",
                model_bytes=draw(st.integers(1, 600)) * MiB,
                allocations=draw(st.integers(1, 3)),
                threads_per_allocation=draw(st.sampled_from([1, 2, 4])),
                per_deployment_memory_bytes=draw(st.integers(0, 300)) * MiB if metadata else 0,
                per_allocation_memory_bytes=draw(st.integers(0, 200)) * MiB if metadata else 0,
                current_allocations=current,
                max_assigned_allocations=sum(current.values()),
            )
        )
    return nodes, deployments


def every_outcome(nodes, deployments) -> dict[int, int]:
    """For every count of allocations some valid plan places: the fewest moves at that count."""
    fewest: dict[int, int] = {}
    mem = [n.memory_bytes for n in nodes]
    cores = [n.cores for n in nodes]

    def visit(i: int, placed: int, moved: int) -> None:
        if i == len(deployments):
            fewest[placed] = min(fewest.get(placed, moved), moved)
            return
        d = deployments[i]
        for counts in _splits(d.allocations, len(nodes)):
            need = [d.memory_bytes(c) for c in counts]
            if all(need[j] <= mem[j] and c * d.threads_per_allocation <= cores[j] for j, c in enumerate(counts)):
                for j, c in enumerate(counts):
                    mem[j] -= need[j]
                    cores[j] -= c * d.threads_per_allocation
                lost = sum(max(d.current_allocations.get(n.id, 0) - c, 0) for n, c in zip(nodes, counts))
                visit(i + 1, placed + sum(counts), moved + lost)
                for j, c in enumerate(counts):
                    mem[j] += need[j]
                    cores[j] += c * d.threads_per_allocation

    visit(0, 0, 0)
    return fewest


def _splits(most: int, n: int):
    """Every way to put at most `most` allocations on `n` nodes."""
    if n == 0:
        yield ()
        return
    for first in range(most + 1):
        for rest in _splits(most - first, n - 1):
            yield (first, *rest)


def placed_and_moved(deployments, assignments) -> tuple[int, int]:
    placed = sum(sum(assignments[d.id].values()) for d in deployments)
    moved = sum(
        max(count - assignments[d.id].get(node_id, 0), 0)
        for d in deployments
        for node_id, count in d.current_allocations.items()
    )
    return placed, moved


@PROFILE
@given(tiny_clusters())
def test_optimal_places_the_most_and_then_moves_the_fewest(cluster):
    nodes, deployments = cluster
    fewest = every_outcome(nodes, deployments)
    with patch.object(optimal, "MILP_TIME_LIMIT", 60.0):  # a loaded machine must not cut the proof short
        result = plan(nodes, deployments, mode="optimal")
    check_valid(nodes, deployments, result)
    placed, moved = placed_and_moved(deployments, result.assignments)
    assert placed == max(fewest)
    assert moved == fewest[placed]  # no needless move
    assert result.upper_bound is None or result.upper_bound >= placed  # None: nothing to plan


@PROFILE
@given(tiny_clusters())
def test_the_bounds_behind_the_proofs_hold(cluster):
    nodes, deployments = cluster
    fewest = every_outcome(nodes, deployments)
    p = build_arrays(nodes, deployments)
    assert allocation_upper_bound(p) >= max(fewest) - 1e-6
    for placed in sorted(fewest)[-3:]:  # the counts where the bound is tight enough to matter
        # no plan placing at least `placed` moves fewer than the bound
        assert fewest_moves_bound(p, placed) <= min(m for c, m in fewest.items() if c >= placed) + 1e-6


@PROFILE
@given(tiny_clusters())
def test_polishing_never_places_fewer_or_moves_more(cluster):
    """`fill_holes` and `restore_moves` on any valid plan — the constructions' and the
    elasticsearch mode's: valid, at least as many placed, at most as many moved."""
    nodes, deployments = cluster
    p = build_arrays(nodes, deployments)
    es = np.zeros(p.shape, dtype=np.int64)
    for i, d in enumerate(deployments):
        for node_id, count in plan_elasticsearch(nodes, deployments)[d.id].items():
            es[i, p.node_ids.index(node_id)] = count
    for start in (es, keep_then_fill(p), fill_by_class(p), fill_around_current(p)):
        for step in (fill_holes, restore_moves):
            after = step(p, start)
            assert is_valid(p, after)
            assert after.sum() >= start.sum()
            assert np.minimum(p.current, after).sum() >= np.minimum(p.current, start).sum()


@PROFILE
@given(tiny_clusters())
def test_a_polished_plan_has_no_allocation_left_to_put_back(cluster):
    nodes, deployments = cluster
    p = build_arrays(nodes, deployments)
    polished = polish(p, fill_by_class(p))
    assert np.array_equal(restore_moves(p, polished), polished)


def test_replanning_the_optimal_plan_of_a_tiny_cluster_moves_nothing():
    nodes = [PlanNode("n0", 2000 * MiB, 4), PlanNode("n1", 2000 * MiB, 4)]
    deployments = [
        PlanDeployment("a", "m-a", 100 * MiB, allocations=3, current_allocations={"n0": 2, "n1": 2}),
        PlanDeployment("b", "m-b", 100 * MiB, allocations=2, threads_per_allocation=2),
    ]
    first = plan(nodes, deployments, mode="optimal")
    settled = [replace(d, allocations=first.allocations(d.id), current_allocations=first.assignments[d.id]) for d in deployments]
    assert plan(nodes, settled, mode="optimal").assignments == first.assignments
