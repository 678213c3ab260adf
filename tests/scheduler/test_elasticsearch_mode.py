"""The elasticsearch mode's rules on small hand-made clusters."""

from sched_helpers import GiB, check_valid, dep, node

from scheduler import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, NO_NODES, plan
from scheduler.memory import MiB


def test_every_deployment_has_a_key_even_when_nothing_fits():
    nodes = [node("n1", gib=0.1)]
    deps = [dep("d1"), dep("d0", allocations=0)]
    result = plan(nodes, deps)
    assert result.assignments == {"d0": {}, "d1": {}}
    assert "d0" not in result.reasons


def test_no_nodes_reason():
    result = plan([], [dep("d1")])
    assert result.assignments == {"d1": {}}
    assert result.reasons == {"d1": NO_NODES}


def test_binpack_prefers_the_closest_core_fit():
    # both nodes have cores for all 4 allocations; n2's 4 cores fit exactly
    result = plan([node("n1", cores=8), node("n2", cores=4)], [dep("d1", allocations=4)])
    assert result.assignments == {"d1": {"n2": 4}}


def test_binpack_places_largest_model_first():
    # one 4-core node: the bigger model is packed first and takes every core
    nodes = [node("n1", cores=4)]
    deps = [dep("a-small", allocations=4, mib=100), dep("b-big", allocations=4, mib=900)]
    assert plan(nodes, deps).assignments == {"a-small": {}, "b-big": {"n1": 4}}


def test_current_placement_is_preserved():
    nodes = [node("n1", cores=4), node("n2", cores=4)]
    deps = [
        dep("d1", allocations=2, current_allocations={"n2": 2}, max_assigned_allocations=2),
        dep("d2", allocations=4, mib=900),
    ]
    result = plan(nodes, deps)
    assert result.assignments["d1"] == {"n2": 2}
    check_valid(nodes, deps, result)


def test_allocations_on_departed_nodes_are_re_placed():
    nodes = [node("n1", cores=4)]
    deps = [dep("d1", allocations=2, current_allocations={"gone": 2}, max_assigned_allocations=2)]
    assert plan(nodes, deps).assignments == {"d1": {"n1": 2}}


def test_previously_assigned_deployment_keeps_one_allocation():
    # Without the extra pass the bigger new model would take all four cores.
    nodes = [node("n1", cores=4)]
    deps = [
        dep("big", allocations=4, mib=900),
        dep("prev", allocations=2, mib=100, max_assigned_allocations=2),
    ]
    result = plan(nodes, deps)
    assert result.assignments == {"big": {"n1": 3}, "prev": {"n1": 1}}


def test_zones_spread_allocations():
    nodes = [node("a1", zone="za"), node("a2", zone="za"), node("b1", zone="zb")]
    result = plan(nodes, [dep("d1", allocations=4)])
    by_zone = {"za": 0, "zb": 0}
    for node_id, count in result.assignments["d1"].items():
        by_zone["zb" if node_id == "b1" else "za"] += count
    assert by_zone == {"za": 2, "zb": 2}


def test_zones_fill_the_rest_across_all_nodes():
    # zone zb has 1 core: it gets one of its two, the last pass puts the rest in za
    nodes = [node("a1", cores=8, zone="za"), node("b1", cores=1, zone="zb")]
    result = plan(nodes, [dep("d1", allocations=4)])
    assert result.assignments == {"d1": {"a1": 3, "b1": 1}}


def test_low_priority_uses_no_cores():
    nodes = [node("n1", cores=2)]
    deps = [dep("normal", allocations=2), dep("low", priority="low")]
    assert plan(nodes, deps).assignments == {"normal": {"n1": 2}, "low": {"n1": 1}}


def test_low_priority_is_capped_per_node_and_planned_after_normal():
    nodes = [node("n1", gib=1024, cores=1)]
    lows = [dep(f"low{i:03d}", priority="low", mib=1) for i in range(120)]
    result = plan(nodes, lows + [dep("normal", mib=1)])
    placed = sum(1 for d in lows if result.assignments[d.id])
    assert placed == MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE
    assert result.assignments["normal"] == {"n1": 1}
    check_valid(nodes, lows + [dep("normal", mib=1)], result)


def test_low_priority_gets_only_the_memory_normal_left():
    # 1 GiB node: the normal model takes 440 MiB, leaving room for one 440 MiB low model
    nodes = [node("n1", gib=1, cores=4)]
    deps = [dep("n", allocations=1), dep("l1", priority="low"), dep("l2", priority="low")]
    result = plan(nodes, deps)
    assert result.assignments["n"] == {"n1": 1}
    assert sum(1 for d in ("l1", "l2") if result.assignments[d]) == 1


def test_memory_reason_wording():
    nodes = [node("n1", gib=0.25, cores=4)]
    result = plan(nodes, [dep("d1", mib=100)])
    assert result.reasons["d1"] == (
        "Could not assign (more) allocations on node [n1]. Reason: This node has insufficient "
        "available memory. Available memory for ML [268435456 (256mb)], free memory "
        "[268435456 (256mb)], estimated memory required for this model [461373440 (440mb)]."
    )


def test_processor_reasons_are_per_node_and_joined():
    nodes = [node("n1", cores=2), node("n2", cores=2)]
    result = plan(nodes, [dep("d1", allocations=3, threads=2)])
    assert sum(result.assignments["d1"].values()) == 2
    assert result.reasons["d1"] == "|".join(
        f"Could not assign (more) allocations on node [{n}]. Reason: This node has insufficient "
        "allocated processors. Available processors [2], free processors [0], processors "
        "required for each allocation of this model [2]"
        for n in ("n1", "n2")
    )


def test_memory_metadata_caps_a_binpack_step():
    # est(n) = 1 + 10 + 500 n MiB; free cores allow 6 but memory // 500 MiB caps the step at 4
    nodes = [node("n1", gib=2, cores=8)]
    d = dep("d1", allocations=6, mib=10, per_deployment_memory_bytes=MiB, per_allocation_memory_bytes=500 * MiB)
    assert plan(nodes, [d]).assignments == {"d1": {"n1": 4}}


def test_binpack_step_that_misses_memory_places_nothing_like_elasticsearch():
    # The cap ignores the per-deployment part: 4 allocations (1200 MiB) are tried on a
    # 1 GiB node and fail, and ES's greedy does not retry with fewer.
    nodes = [node("n1", gib=1, cores=8)]
    d = dep("d1", allocations=4, per_deployment_memory_bytes=300 * MiB, per_allocation_memory_bytes=200 * MiB)
    assert plan(nodes, [d]).assignments == {"d1": {}}
    assert d.memory_bytes(3) <= GiB < d.memory_bytes(4)
