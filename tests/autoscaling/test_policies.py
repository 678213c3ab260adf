"""`/_autoscaling/policy/<name>`: stored, read back as settings strings, refused with
Elasticsearch's errors (and nothing stored) when the policy is wrong."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from elasticsearch import NotFoundError

from api.app import create_app
from cluster.cluster import Cluster

from .conftest import ML_ROLES, client

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")


async def test_put_get_delete_through_the_client() -> None:
    cluster = Cluster(clock="virtual")
    async with client(cluster) as es:
        put = await es.autoscaling.put_autoscaling_policy(
            name="ml_tier",
            policy={"roles": ML_ROLES, "deciders": {"ml": {"num_anomaly_jobs_in_queue": 5, "down_scale_delay": "30m"}}},
        )
        assert put.body == {"acknowledged": True}
        got = await es.autoscaling.get_autoscaling_policy(name="ml_tier")
        assert got.body == {
            "roles": ["ml", "remote_cluster_client"],
            "deciders": {"ml": {"down_scale_delay": "30m", "num_anomaly_jobs_in_queue": "5"}},
        }
        # an update without roles or deciders keeps what is stored
        await es.autoscaling.put_autoscaling_policy(name="ml_tier", policy={"deciders": {"ml": {}}})
        got = await es.autoscaling.get_autoscaling_policy(name="ml_tier")
        assert got.body == {"roles": ["ml", "remote_cluster_client"], "deciders": {"ml": {}}}
        assert (await es.autoscaling.delete_autoscaling_policy(name="ml_tier")).body == {"acknowledged": True}
        with pytest.raises(NotFoundError) as missing:
            await es.autoscaling.get_autoscaling_policy(name="ml_tier")
        assert missing.value.body["error"]["type"] == "resource_not_found_exception"
        assert missing.value.body["error"]["reason"] == "autoscaling policy with name [ml_tier] does not exist"
        assert (await es.autoscaling.get_autoscaling_capacity()).body == {"policies": {}}


async def test_a_policy_without_deciders_gets_the_ml_decider_by_default() -> None:
    cluster = Cluster(clock="virtual")
    cluster.add_node("ml-1", memory_gb=8, processors=2)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy={"roles": ML_ROLES})
        body = (await es.autoscaling.get_autoscaling_capacity()).body["policies"]["ml"]
    assert list(body["deciders"]) == ["ml"]
    assert body["deciders"]["ml"]["reason_details"]["configuration"] == {}


async def test_nodes_belong_to_the_policy_whose_roles_are_exactly_theirs() -> None:
    cluster = Cluster(clock="virtual")
    cluster.add_node("ml-1", memory_gb=8, processors=2)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy={"roles": ["ml"]})
        body = (await es.autoscaling.get_autoscaling_capacity()).body["policies"]["ml"]
    assert body["current_nodes"] == []
    # the decider itself still sees every ML node
    assert body["deciders"]["ml"]["reason_details"]["perceived_current_capacity"]["node"]["processors"] == 2.0


@pytest.mark.parametrize(
    ("body", "status", "error_type", "reason"),
    [
        ({"roles": ML_ROLES, "deciders": {"fixed": {}}}, 400, "illegal_argument_exception", "unknown decider [fixed]"),
        (
            {"roles": ML_ROLES, "deciders": {"ml": {"down_scale": "1h"}}}, 400, "illegal_argument_exception",
            "unknown setting [down_scale] for decider [ml]",
        ),
        (
            {"roles": ML_ROLES, "deciders": {"ml": {"num_anomaly_jobs_in_queue": -1}}}, 400,
            "illegal_argument_exception",
            "Failed to parse value [-1] for setting [num_anomaly_jobs_in_queue] must be >= 0",
        ),
        (
            {"roles": ML_ROLES, "deciders": {"ml": {"down_scale_delay": "soon"}}}, 400, "illegal_argument_exception",
            "failed to parse setting [down_scale_delay] with value [soon] as a time value: unit is missing or "
            "unrecognized",
        ),
        (
            {"deciders": {"ml": {}}}, 400, "illegal_argument_exception",
            "new policy p with no roles defined, must provide empty list for no roles",
        ),
        (
            {"roles": ["data_hot"], "deciders": {"ml": {}}}, 400, "illegal_argument_exception",
            "decider [ml] not applicable to policy with roles [ [data_hot]]",
        ),
        (
            {"roles": ["data_hot"]}, 400, "illegal_argument_exception",
            "no default nor user configured deciders for policy [p] with roles [[data_hot]]",
        ),
        ({"roles": ["gpu"]}, 400, "action_request_validation_exception", "Validation Failed: 1: gpu;"),
        (
            {"roles": ML_ROLES, "size": 1}, 400, "x_content_parse_exception",
            "[1:44] [put_autocaling_policy_request] unknown field [size]",
        ),
    ],
)
async def test_bad_policies_are_refused_and_not_stored(body: dict, status: int, error_type: str, reason: str) -> None:
    cluster = Cluster(clock="virtual")
    http = TestClient(TestServer(create_app(cluster)))
    await http.start_server()
    try:
        response = await http.put("/_autoscaling/policy/p", json=body)
        error = (await response.json())["error"]
        assert (response.status, error["type"], error["reason"]) == (status, error_type, reason)
        assert (await http.get("/_autoscaling/policy/p")).status == 404
    finally:
        await http.close()


async def test_delete_by_pattern_and_missing_names() -> None:
    cluster = Cluster(clock="virtual")
    http = TestClient(TestServer(create_app(cluster)))
    await http.start_server()
    try:
        for name in ("ml-a", "ml-b", "other"):
            assert (await http.put(f"/_autoscaling/policy/{name}", json={"roles": ML_ROLES})).status == 200
        assert (await http.delete("/_autoscaling/policy/ml-*")).status == 200
        assert sorted(cluster.ml_autoscaling.policies.policies) == ["other"]
        missing = await http.delete("/_autoscaling/policy/ml-a")
        assert missing.status == 404
        assert (await missing.json())["error"]["reason"] == "autoscaling policy with name [ml-a] does not exist"
        assert (await http.get("/_autoscaling/capacity?size=1")).status == 400
    finally:
        await http.close()
