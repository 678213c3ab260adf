"""Node crashes, shutdowns and joins seen by ml-commons: workers, the sync-up cron's state
rules, task timeouts, TTL undeploys and auto-redeploy."""

from __future__ import annotations

import json

import pytest

from cluster.cluster import Cluster
from cluster.opensearch.sync_up import new_model_state

from .deploy_support import LOAD_SECONDS, MODEL_MEMORY, local_model, model, remote_model, task


@pytest.fixture
def nodes(cluster: Cluster) -> list[str]:
    return list(cluster.state.nodes)


def states(cluster: Cluster, model_id: str, until: float, step: float = 1.0) -> list[tuple[float, str]]:
    """The model's state after each `step` of simulated time until `until` (changes only)."""
    seen: list[tuple[float, str]] = []
    while cluster.now < until:
        cluster.advance(step)
        state = model(cluster, model_id)["model_state"]
        if not seen or seen[-1][1] != state:
            seen.append((cluster.now, state))
    return seen


# -- crashes mid-load -------------------------------------------------------------------


def test_losing_one_of_two_planned_nodes_mid_load_ends_partially_deployed(cluster, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    answer = cluster.ml_commons.deployer.deploy("m1", nodes)
    cluster.advance(3)
    cluster.crash_node(nodes[1])
    assert cluster.ml_commons.deployer.memory_on(nodes[1]) == 0
    assert states(cluster, "m1", 20) == [(1 + 3.0, "DEPLOYING"), (10.0, "PARTIALLY_DEPLOYED")]
    doc = model(cluster, "m1")
    assert (doc["current_worker_node_count"], doc["planning_worker_node_count"]) == (1, 2)
    assert cluster.ml_commons.workers.nodes("m1") == [nodes[0]]
    # The task waits for the lost node's answer until ml-commons' task timeout.
    assert task(cluster, answer["task_id"])["state"] == "RUNNING"
    cluster.advance(600)
    failed = task(cluster, answer["task_id"])
    assert (failed["state"], failed["error"]) == ("FAILED", "timeout after 600 seconds")
    assert model(cluster, "m1")["model_state"] == "PARTIALLY_DEPLOYED"


async def test_the_task_timeout_is_a_cluster_setting(cluster, client, nodes):
    await client.cluster.put_settings(body={"transient": {"plugins.ml_commons.ml_task_timeout_in_seconds": 45}})
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    answer = cluster.ml_commons.deployer.deploy("m1", nodes)
    cluster.advance(3)
    cluster.crash_node(nodes[1])
    cluster.advance(46)
    assert task(cluster, answer["task_id"])["state"] == "RUNNING"  # the first sync-up past 45 s is at 50 s
    cluster.advance(1)
    failed = task(cluster, answer["task_id"])
    assert (failed["state"], failed["error"]) == ("FAILED", "timeout after 45 seconds")


def test_losing_the_only_node_mid_load_ends_deploy_failed_after_the_grace(cluster, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1", [nodes[0]])
    cluster.advance(3)
    cluster.crash_node(nodes[0])
    # Sync-ups at 10 s and 20 s leave a DEPLOYING model within 20 s of its last update.
    assert states(cluster, "m1", 30) == [(4.0, "DEPLOYING"), (20.0, "DEPLOY_FAILED")]
    assert model(cluster, "m1")["current_worker_node_count"] == 0


def test_losing_a_node_mid_load_of_a_deploy_to_all_shrinks_the_plan(cluster, nodes):
    """With deploy_to_all_nodes the plan follows the eligible nodes: the survivor is all of them."""
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(3)
    cluster.crash_node(nodes[1])
    cluster.advance(10)
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["planning_worker_nodes"], doc["planning_worker_node_count"]) == (
        "DEPLOYED", [nodes[0]], 1,
    )


# -- crashes and shutdowns of workers ------------------------------------------------------


def test_a_crashed_worker_leaves_the_model_partially_deployed(cluster, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1", nodes)
    cluster.advance(LOAD_SECONDS)
    cluster.crash_node(nodes[0])
    assert model(cluster, "m1")["model_state"] == "DEPLOYED"  # until the next sync-up
    cluster.advance(10)
    assert model(cluster, "m1")["model_state"] == "PARTIALLY_DEPLOYED"
    cluster.crash_node(nodes[1])
    cluster.advance(10)
    assert model(cluster, "m1")["model_state"] == "DEPLOY_FAILED"
    assert cluster.ml_commons.workers.nodes("m1") == []


def test_a_node_shutting_down_leaves_ml_commons_at_once(cluster, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    cluster.remove_node(nodes[0])
    assert cluster.ml_commons.workers.nodes("m1") == [nodes[1]]
    assert cluster.ml_commons.deployer.memory_on(nodes[0]) == 0
    cluster.advance(10)
    assert nodes[0] not in cluster.state.nodes
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["planning_worker_nodes"]) == ("DEPLOYED", [nodes[1]])


# -- the sync-up cron ----------------------------------------------------------------------


def test_the_cron_ticks_only_while_models_are_deployed(cluster):
    local_model(cluster, "m1")
    assert cluster.env.peek() == float("inf")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    assert cluster.env.peek() == 10.0
    cluster.ml_commons.deployer.undeploy(["m1"])
    cluster.advance(10)
    assert cluster.env.peek() == float("inf")


def test_a_long_deploy_flips_between_deploy_failed_and_deploying(cluster, nodes):
    """ml-commons' rules as written: past the 20 s grace a model with no worker yet is
    DEPLOY_FAILED, and the next sync-up sees a node loading it and writes DEPLOYING."""
    local_model(cluster, "big", size=3_000_000_000)  # loads in 30.6 s
    cluster.ml_commons.deployer.deploy("big")
    seen = states(cluster, "big", 40, step=10)
    assert seen == [(10.0, "DEPLOYING"), (20.0, "DEPLOY_FAILED"), (30.0, "DEPLOYING"), (40.0, "DEPLOYED")]


@pytest.mark.parametrize(
    ("state", "deploying", "workers", "planning", "in_index", "age_ms", "expected"),
    [
        ("DEPLOYED", True, 1, 2, 1, 0, "DEPLOYING"),
        ("DEPLOYING", True, 1, 2, 0, 0, "PARTIALLY_DEPLOYED"),
        ("DEPLOYING", False, 0, 2, 0, 19_999, None),
        ("DEPLOYING", False, 0, 2, 0, 20_000, "DEPLOY_FAILED"),
        ("DEPLOYED", False, 0, 2, 2, 0, "DEPLOY_FAILED"),
        ("DEPLOY_FAILED", False, 0, 2, 0, 0, None),
        ("PARTIALLY_DEPLOYED", False, 1, 2, 1, 0, None),
        ("PARTIALLY_DEPLOYED", False, 1, 3, 2, 0, "PARTIALLY_DEPLOYED"),
        ("PARTIALLY_DEPLOYED", False, 2, 2, 1, 0, "DEPLOYED"),
        ("DEPLOYED", False, 3, 2, 3, 0, None),
    ],
)
def test_sync_up_state_rules(state, deploying, workers, planning, in_index, age_ms, expected):
    now = 1_000_000
    assert new_model_state(state, deploying, workers, planning, in_index, now - age_ms, now) == expected


def test_a_model_idle_past_its_ttl_is_undeployed(cluster, nodes):
    remote_model(cluster, "r1", deploy_setting={"model_ttl_minutes": 1})
    cluster.ml_commons.deployer.deploy("r1")
    cluster.advance(55)
    cluster.ml_commons.stats.record_request(nodes[1], "r1", "REMOTE", "predict", 12.0, False)
    cluster.advance(10)  # 60 s: idle on nodes[0] only
    assert model(cluster, "r1")["model_state"] == "DEPLOYED"
    cluster.advance(60)  # 120 s: 65 s idle on nodes[1] as well
    assert model(cluster, "r1")["model_state"] == "UNDEPLOYED"
    assert cluster.ml_commons.workers.nodes("r1") == []
    assert cluster.env.peek() == float("inf")


# -- auto-redeploy -------------------------------------------------------------------------


def test_a_joining_node_gets_the_deployed_models(cluster, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    new = cluster.add_node("ml-3")
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["auto_redeploy_retry_times"]) == ("DEPLOYING", 1)
    cluster.advance(LOAD_SECONDS)
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["current_worker_node_count"], doc["auto_redeploy_retry_times"]) == (
        "DEPLOYED", 3, 0,
    )
    assert cluster.ml_commons.deployer.memory_on(new) == MODEL_MEMORY
    assert cluster.ml_commons.workers.nodes("m1") == sorted([*nodes, new])


def test_redeploys_go_oldest_first_one_at_a_time(cluster):
    local_model(cluster, "young", model_state="DEPLOYED", last_deployed_time=2, deploy_to_all_nodes=True)
    local_model(cluster, "old", model_state="DEPLOYED", last_deployed_time=1, deploy_to_all_nodes=True)
    local_model(cluster, "tired", model_state="DEPLOYED", last_deployed_time=0, auto_redeploy_retry_times=3)
    cluster.add_node("ml-3")
    assert [model(cluster, m)["model_state"] for m in ("old", "young", "tired")] == [
        "DEPLOYING", "DEPLOYED", "DEPLOYED",
    ]
    cluster.advance(LOAD_SECONDS)
    assert model(cluster, "young")["model_state"] == "DEPLOYING"
    cluster.advance(LOAD_SECONDS)
    assert [model(cluster, m).get("auto_redeploy_retry_times") for m in ("old", "young", "tired")] == [0, 0, 3]


def test_a_custom_plan_is_redeployed_only_when_it_names_the_joined_node(cluster, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1", model_state="PARTIALLY_DEPLOYED", deploy_to_all_nodes=False,
                planning_worker_nodes=[nodes[0], "will-join"])
    cluster.add_node("ml-3")
    assert model(cluster, "m1")["model_state"] == "PARTIALLY_DEPLOYED"
    cluster.add_node("ml-4", node_id="will-join")
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["planning_worker_nodes"]) == ("DEPLOYING", [nodes[0], "will-join"])


def test_auto_redeploy_can_be_switched_off(cluster):
    cluster.ml_commons.settings.model_auto_redeploy_enable = False
    local_model(cluster, "m1", model_state="DEPLOYED")
    cluster.add_node("ml-3")
    assert model(cluster, "m1")["model_state"] == "DEPLOYED"
    assert cluster.ml_commons.deployer.runs == {}


def test_a_failed_redeploy_keeps_its_retry_count(cluster, nodes):
    cluster.ml_commons.settings.max_model_on_node = 0
    local_model(cluster, "m1", model_state="DEPLOYED")
    cluster.add_node("ml-3")
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["auto_redeploy_retry_times"]) == ("DEPLOY_FAILED", 1)
    assert len(json.loads(next(iter(cluster.ml_commons.store[".plugins-ml-task"].docs.values())).source["error"])) == 3


def test_after_every_worker_crashed_a_joining_node_does_not_revive_the_model(cluster, nodes):
    """`MLModelAutoReDeployer` searches DEPLOYING / PARTIALLY_DEPLOYED / DEPLOYED models only:
    once the sync-up has written DEPLOY_FAILED (every worker gone), new nodes leave it there
    until a manual `_deploy`, as the cluster-settings documentation says."""
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    for node_id in nodes:
        cluster.crash_node(node_id)
    cluster.advance(10)
    assert model(cluster, "m1")["model_state"] == "DEPLOY_FAILED"
    cluster.add_node("ml-3")
    cluster.add_node("ml-4")
    cluster.advance(3 * LOAD_SECONDS)
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc.get("auto_redeploy_retry_times", 0)) == ("DEPLOY_FAILED", 0)
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS + 10)
    assert model(cluster, "m1")["model_state"] == "DEPLOYED"


def test_a_node_joining_before_the_sync_up_noticed_the_crash_redeploys(cluster, nodes):
    """The other order: the index still says DEPLOYED when the node joins, so the model is
    queued and redeployed there."""
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    for node_id in nodes:
        cluster.crash_node(node_id)
    new = cluster.add_node("ml-3")
    assert model(cluster, "m1")["auto_redeploy_retry_times"] == 1
    cluster.advance(LOAD_SECONDS + 10)
    assert model(cluster, "m1")["model_state"] == "DEPLOYED"
    assert cluster.ml_commons.workers.nodes("m1") == [new]
