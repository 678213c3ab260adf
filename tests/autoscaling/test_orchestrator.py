"""The simulated orchestrator: cluster-file configuration, polls on the simulated clock,
provisioning delay, replacement, horizontal growth, graceful removal and the bill."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.cli import build_parser
from api.serve_command import build_cluster
from cluster.cluster import Cluster
from cluster.config import ConfigError, parse_cluster
from cluster.requests import StartRequest
from nodes.resources import GiB
from scheduler.memory import MiB


def build(data: dict[str, Any]) -> Cluster:
    """A cluster as `mlsim serve --cluster` builds it from the file's data."""
    config = parse_cluster(data)
    cluster = Cluster(config.settings, clock="virtual")
    for spec in config.nodes:
        cluster.membership.join(spec)
    assert config.autoscaling is not None
    cluster.enable_autoscaling(config.autoscaling)
    return cluster


def start(cluster: Cluster, model_id: str, mib: int, allocations: int = 1, threads: int = 1) -> None:
    cluster.add_pytorch_model(model_id, mib * MiB)
    cluster.deployments.start(
        StartRequest(
            model_id=model_id, number_of_allocations=allocations, threads_per_allocation=threads,
            wait_for="starting", timeout=1,
        )
    )


def events(cluster: Cluster, prefix: str = "autoscaling_") -> list[tuple[float, str]]:
    return [(e.time, e.kind) for e in cluster.log if e.kind.startswith(prefix)]


def sizes(cluster: Cluster) -> list[int]:
    return sorted(n.spec.machine_memory for n in cluster.state.nodes.values())


AUTO = {"use_auto_machine_memory_percent": True}


def test_scale_from_zero_waits_for_the_poll_and_the_provisioning() -> None:
    cluster = build({
        "settings": {**AUTO, "max_lazy_ml_nodes": 1},
        "autoscaling": {"zones": ["a"], "provision_seconds": 180, "poll_interval": "30s", "cost_per_gb_hour": 0.05},
    })
    assert cluster.state.settings.max_ml_node_size == 64 * GiB  # the largest size, as a hosted service sets it
    start(cluster, "e5", 500)  # needs a 2446 MiB node: the 4 GB size
    assert cluster.run_until(cluster.fully_allocated("e5"), 3600)
    assert events(cluster) == [
        (30.0, "autoscaling_scale_up"), (30.0, "autoscaling_node_provisioning"), (210.0, "autoscaling_node_added")
    ]
    (node,) = cluster.state.nodes.values()
    assert (node.spec.name, node.spec.machine_memory, node.spec.allocated_processors, node.spec.zone) == (
        "instance-0000000001", 4 * GiB, 1.0, "a"
    )
    assert cluster.now > 210.0  # then the model loads
    cluster.advance(3600 + 30 - cluster.now)
    stats = cluster.orchestrator.stats()
    assert (stats["scale_ups"], stats["scale_downs"], stats["node_hours"]) == (1, 0, 1.0)
    assert stats["gb_hours"] == 4.0 and stats["cost"] == pytest.approx(0.2)


def test_a_deployment_too_big_for_the_node_replaces_it_with_the_next_size() -> None:
    cluster = build({
        "settings": AUTO,
        "nodes": [{"name": "ml-1", "machine_memory": "4gb", "allocated_processors": 1, "zone": "a"}],
        "autoscaling": {"zones": ["a"], "remove_seconds": 60},
    })
    start(cluster, "big", 1500)  # needs 5778 MiB: the 8 GB size
    assert cluster.run_until(cluster.fully_allocated("big"), 3600)
    cluster.advance(600)
    kinds = [kind for _, kind in events(cluster)]
    assert kinds == [
        "autoscaling_scale_up", "autoscaling_node_provisioning", "autoscaling_node_added",
        "autoscaling_node_removing", "autoscaling_node_removed",
    ]
    assert sizes(cluster) == [8 * GiB]
    scale_up = next(e for e in cluster.log if e.kind == "autoscaling_scale_up")
    assert scale_up.fields["current"] == {"node_size": 4 * GiB, "nodes_per_zone": 1}
    assert scale_up.fields["target"] == {"node_size": 8 * GiB, "nodes_per_zone": 1}
    assert scale_up.fields["required"]["node"]["memory"] == 5778 * MiB
    left = next(e.time for e in cluster.log if e.kind == "node_left")
    removed = next(e.time for e in cluster.log if e.kind == "autoscaling_node_removed")
    assert removed == left + 60


def test_more_processors_than_the_largest_node_add_nodes_of_that_size() -> None:
    cluster = build({
        # at the largest size already, so only lazy nodes make scaling possible (else 429)
        "settings": {**AUTO, "max_lazy_ml_nodes": 3},
        "nodes": [{"name": "ml-1", "machine_memory": "16gb", "allocated_processors": 4, "zone": "a"}],
        "autoscaling": {"zones": ["a"], "node_sizes": ["8gb", "16gb"], "max_nodes_per_zone": 3},
    })
    start(cluster, "a", 100, allocations=2)
    start(cluster, "b", 100, threads=2)
    start(cluster, "c", 100, allocations=2)  # 6 processors wanted, 4 per 16 GB node
    assert cluster.run_until(cluster.fully_allocated("a", "b", "c"), 3600)
    assert sizes(cluster) == [16 * GiB, 16 * GiB]
    assert [kind for _, kind in events(cluster)] == [
        "autoscaling_scale_up", "autoscaling_node_provisioning", "autoscaling_node_added"
    ]


def test_scale_down_after_the_delay_to_a_smaller_node() -> None:
    cluster = build({
        "settings": AUTO,
        "nodes": [{"name": "ml-1", "machine_memory": "16gb", "allocated_processors": 4, "zone": "a"}],
        "autoscaling": {"zones": ["a"], "down_scale_delay": "1h", "cost_per_gb_hour": 0.05},
    })
    start(cluster, "small", 200)  # needs 1446 MiB and 1 processor: the 4 GB size
    cluster.advance(3 * 3600)
    scale_down = [t for t, kind in events(cluster) if kind == "autoscaling_scale_down"]
    assert scale_down == [30.0 + 3600]  # detected at the first poll, due one hour later
    assert sizes(cluster) == [4 * GiB]
    assert cluster.fully_allocated("small")()
    stats = cluster.orchestrator.stats()
    removed = stats["nodes"][0]["removed_at"]
    added = stats["nodes"][1]["requested_at"]
    assert added == 3630.0
    hours_16, hours_4 = removed / 3600, (3 * 3600 - added) / 3600
    assert stats["node_hours"] == pytest.approx(hours_16 + hours_4, abs=1e-6)
    assert stats["cost"] == pytest.approx((16 * hours_16 + 4 * hours_4) * 0.05, abs=1e-5)
    assert stats["scale_downs"] == 1


def test_a_stopped_deployment_scales_the_tier_to_zero() -> None:
    cluster = build({
        "settings": {**AUTO, "max_lazy_ml_nodes": 1},
        "autoscaling": {"zones": ["a"], "down_scale_delay": "10m"},
    })
    start(cluster, "e5", 500)
    assert cluster.run_until(cluster.fully_allocated("e5"), 3600)
    cluster.deployments.stop("e5")
    cluster.advance(1800)
    assert cluster.state.nodes == {}
    assert [kind for _, kind in events(cluster)][-3:] == [
        "autoscaling_scale_down", "autoscaling_node_removing", "autoscaling_node_removed"
    ]


@pytest.mark.parametrize(
    ("autoscaling", "message"),
    [
        ({"node_sizes": ["8gb", "4gb"]}, "autoscaling: [node_sizes] must be in increasing order without repeats"),
        ({"zones": []}, "autoscaling: [zones] must be a non-empty list of distinct zones"),
        ({"poll_interval": "soon"}, "autoscaling.poll_interval: failed to parse setting [poll_interval] with value [soon]"),
        ({"max_nodes_per_zone": 0}, "autoscaling: [max_nodes_per_zone] must be at least 1"),
        ({"node_size": ["4gb"]}, "autoscaling: unknown field [node_size]"),
    ],
)
def test_bad_autoscaling_keys_name_the_key(autoscaling: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_cluster({"autoscaling": autoscaling})
    assert str(error.value).startswith(message)


async def test_the_bill_is_served_at_sim_autoscaling() -> None:
    bare = Cluster(clock="virtual")
    cluster = build({"settings": {"max_lazy_ml_nodes": 1}, "autoscaling": {"zones": ["a"], "cost_per_gb_hour": 0.1}})
    for subject, status in ((bare, 404), (cluster, 200)):
        http = TestClient(TestServer(create_app(subject)))
        await http.start_server()
        try:
            response = await http.get("/_sim/autoscaling")
            assert response.status == status
            if status == 200:
                body = await response.json()
                assert (body["policy"], body["scale_ups"], body["cost"], body["nodes"]) == ("ml", 0, 0.0, [])
        finally:
            await http.close()


def test_mlsim_serve_starts_the_orchestrator_from_the_cluster_file(tmp_path) -> None:
    path = tmp_path / "tier.json"
    path.write_text(json.dumps({
        "nodes": [{"name": "ml-1", "machine_memory": "8gb", "allocated_processors": 2, "zone": "a"}],
        "autoscaling": {"zones": ["a"], "cost_per_gb_hour": 0.05},
    }))
    args = build_parser().parse_args(["serve", "--cluster", str(path), "--nodes", "1", "--clock", "virtual"])
    cluster = build_cluster(args)
    assert cluster.orchestrator is not None
    assert [i.name for i in cluster.orchestrator.instances] == ["ml-1", "ml-2"]
    assert cluster.ml_autoscaling.policies.get("ml").to_dict() == {
        "roles": ["ml", "remote_cluster_client"], "deciders": {"ml": {"down_scale_delay": "1h"}}
    }
    with pytest.raises(ValueError, match="already enabled"):
        cluster.enable_autoscaling(cluster.orchestrator.config)
