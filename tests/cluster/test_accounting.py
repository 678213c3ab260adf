"""Node memory and cores derive from routing tables after starts, scales and stops."""

from cluster.requests import StartRequest, UpdateRequest
from nodes.resources import NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES, GiB
from scheduler.memory import MiB

from .conftest import MODEL_BYTES

PER_DEPLOYMENT = 240 * MiB + 2 * MODEL_BYTES


def test_memory_and_cores_follow_starts_scales_and_stops(cluster):
    node = cluster.add_node("n", memory_gb=16, processors=8)
    limit = 16 * GiB * 30 // 100
    usage = cluster.state.usage(node)
    assert (usage.ml_memory_limit, usage.deployment_memory) == (limit, limit - NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES)
    assert (usage.memory_used, usage.cores_used, usage.free_cores) == (0, 0, 8)

    cluster.add_pytorch_model("a", MODEL_BYTES)
    cluster.add_pytorch_model("b", MODEL_BYTES)
    cluster.start_deployment("a", number_of_allocations=2, threads_per_allocation=2)
    cluster.start_deployment("b", number_of_allocations=1)
    usage = cluster.state.usage(node)
    assert (usage.memory_used, usage.cores_used) == (2 * PER_DEPLOYMENT, 5)
    assert usage.free_memory == limit - NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES - 2 * PER_DEPLOYMENT

    cluster.deployments.update(UpdateRequest("b", number_of_allocations=3))
    assert cluster.state.usage(node).cores_used == 7  # targets count at once

    cluster.deployments.stop("a")
    assert cluster.state.usage(node).memory_used == 2 * PER_DEPLOYMENT  # stopping still holds memory
    cluster.advance(1)
    usage = cluster.state.usage(node)
    assert (usage.memory_used, usage.cores_used) == (PER_DEPLOYMENT, 3)


def test_low_priority_uses_memory_but_no_cores(cluster):
    node = cluster.add_node("n", processors=1)
    cluster.add_pytorch_model("normal", MODEL_BYTES)
    cluster.add_pytorch_model("low", MODEL_BYTES)
    cluster.start_deployment("normal")
    cluster.start_deployment("low", priority="low")
    usage = cluster.state.usage(node)
    assert (usage.memory_used, usage.cores_used) == (2 * PER_DEPLOYMENT, 1)


def test_other_ml_jobs_and_processor_scale_shrink_what_the_planner_sees():
    from cluster.cluster import Cluster
    from cluster.settings import ClusterSettings

    cluster = Cluster(ClusterSettings(allocated_processors_scale=2, max_machine_memory_percent=50))
    node = cluster.add_node("n", memory_gb=8, processors=7, other_ml_memory_bytes=1 * GiB)
    (plan_node,) = cluster.state.plan_nodes()
    assert plan_node.cores == 4
    assert plan_node.memory_bytes == 4 * GiB - GiB - NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES
    assert plan_node.id == node


def test_failed_routes_release_memory(cluster):
    node = cluster.add_node("n")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.state.nodes[node].inject_load_failure("boom")
    cluster.deployments.start(StartRequest("m"))
    cluster.advance(10)
    assert cluster.assignment("m").routes[node].routing_state == "failed"
    assert cluster.state.usage(node).memory_used == 0
