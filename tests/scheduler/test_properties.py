"""Properties every plan must have, on random small clusters."""

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_helpers import check_valid, cluster

from benchmarks.instances import random_instance
from scheduler import PLANNER_MODES, Plan, PlanDeployment, PlanNode, plan
from scheduler.instance import parse_instance
from scheduler.memory import MiB
from scheduler.top_up import top_up

PROFILE = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def clusters(draw):
    zones = draw(st.sampled_from([[""], ["a", "b"], ["a", "b", "c"]]))
    nodes = [
        PlanNode(f"n{i}", draw(st.integers(200, 4000)) * MiB, draw(st.integers(0, 8)), draw(st.sampled_from(zones)))
        for i in range(draw(st.integers(0, 5)))
    ]
    deployments = []
    for i in range(draw(st.integers(0, 7))):
        low = draw(st.booleans()) and draw(st.booleans())
        metadata = draw(st.booleans())
        current = {}
        for n in nodes:
            if draw(st.integers(0, 3)) == 0:
                current[n.id] = draw(st.integers(1, 3))
        deployments.append(
            PlanDeployment(
                id=f"d{i}",
                model_id=draw(st.sampled_from([f"m{i}", ".elser_model_2"])),
                model_bytes=draw(st.integers(1, 800)) * MiB,
                allocations=1 if low else draw(st.integers(0, 6)),
                threads_per_allocation=1 if low else draw(st.sampled_from([1, 2, 4])),
                priority="low" if low else "normal",
                per_deployment_memory_bytes=draw(st.integers(0, 300)) * MiB if metadata else 0,
                per_allocation_memory_bytes=draw(st.integers(0, 200)) * MiB if metadata else 0,
                current_allocations=current,
                max_assigned_allocations=draw(st.integers(0, 3)),
            )
        )
    return nodes, deployments


@PROFILE
@given(clusters(), st.sampled_from(PLANNER_MODES))
def test_plans_never_exceed_capacity_or_demand(cluster, mode):
    nodes, deployments = cluster
    check_valid(nodes, deployments, plan(nodes, deployments, mode=mode))


@PROFILE
@given(clusters(), st.sampled_from(PLANNER_MODES))
def test_replanning_a_satisfied_cluster_moves_nothing(cluster, mode):
    nodes, deployments = cluster
    first = plan(nodes, deployments, mode=mode)
    # Make the first plan the current state and ask only for what it placed.
    settled = [
        replace(
            d,
            allocations=first.allocations(d.id),
            current_allocations=first.assignments[d.id],
            max_assigned_allocations=max(d.max_assigned_allocations, first.allocations(d.id)),
        )
        for d in deployments
    ]
    again = plan(nodes, settled, mode=mode)
    assert again.assignments == first.assignments
    assert again.reasons == {}


@PROFILE
@given(clusters())
def test_top_up_keeps_every_current_allocation_and_places_everything(cluster):
    nodes, deployments = cluster
    topped_up = top_up(sorted(nodes, key=lambda n: n.id), sorted(deployments, key=lambda d: d.id))
    if topped_up is None:
        return
    result = Plan(assignments=topped_up)
    check_valid(nodes, deployments, result)
    live = {n.id for n in nodes}
    for d in deployments:
        assert result.allocations(d.id) == d.allocations
        if d.allocations:
            for node_id, count in d.current_allocations.items():
                assert node_id not in live or topped_up[d.id].get(node_id, 0) >= count


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["awkward", "benchmark"]))
def test_elasticsearch_plans_are_valid_and_deterministic(seed, kind):
    """ES's planner on awkward clusters (current allocations on nodes that left or beyond
    capacity, metadata, ELSER, caches) and on benchmark-like ones (where its LP runs): never
    over a node's capacity or a deployment's ask, and the same plan every time."""
    rng = np.random.default_rng(seed)
    if kind == "awkward":
        nodes, deployments = cluster(seed, int(rng.integers(3, 40)), int(rng.integers(2, 60)))
    else:
        size = int(rng.integers(5, 40))
        instance = random_instance(rng, size, size, float(rng.choice([0.6, 0.9, 1.3])), int(rng.integers(1, 4)))
        nodes, deployments = parse_instance(instance)
    first = plan(nodes, deployments)
    check_valid(nodes, deployments, first)
    again = plan(list(reversed(nodes)), list(reversed(deployments)))
    assert again.assignments == first.assignments
    assert again.reasons == first.reasons
