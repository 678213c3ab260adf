"""Model- and user-level rate limits: the `{"limit", "unit"}` limiter (parse, merge, the
pre-checks ml-commons updates with) and the per-node token buckets on simulated time.

Predict (another part) calls `ml.rate_limits.check` on the node that serves a request; these
tests call it directly."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import CONTROLLER_INDEX, MODEL_INDEX
from cluster.opensearch.rate_limiter import RateLimiter
from cluster.opensearch.xcontent import JsonFields

from .deploy_support import serve

MODEL = "model-1"
MODEL_LEVEL = "Request is throttled at model level."
USER_LEVEL = "Request is throttled at user level. If you think there's an issue, please contact your cluster admin."


def deployed(cluster: Cluster, rate_limiter: dict[str, Any] | None, workers: int = 2, **fields: Any) -> list[str]:
    """A deployed text-embedding model on the first `workers` nodes; returns those nodes."""
    ml = cluster.ml_commons
    doc = {"name": "m", "algorithm": "TEXT_EMBEDDING", "model_state": "DEPLOYED", "is_enabled": True, **fields}
    if rate_limiter is not None:
        doc["rate_limiter"] = rate_limiter
    ml.store[MODEL_INDEX].index(MODEL, doc)
    nodes = sorted(cluster.state.nodes)[:workers]
    serve(cluster, MODEL, nodes)
    return nodes


def served(cluster: Cluster, node: str, user: str | None = None) -> str:
    """Ask for one token: "ok", or the 429's reason."""
    try:
        cluster.ml_commons.rate_limits.check(MODEL, node, user)
    except MlError as exc:
        assert (exc.status, exc.error_type) == (429, "status_exception")
        return exc.reason
    return "ok"


def burst(cluster: Cluster, node: str, n: int, user: str | None = None) -> list[str]:
    return [served(cluster, node, user) for _ in range(n)]


# -- the limiter ----------------------------------------------------------------------------


def parse(value: Any) -> RateLimiter:
    return RateLimiter.parse(value, JsonFields(value))


def test_parse_keeps_the_limit_as_text_and_skips_other_keys() -> None:
    assert parse({"limit": 4, "unit": "MINUTES", "x": 1}) == RateLimiter("4", "MINUTES")
    assert parse({"limit": "2.5"}) == RateLimiter("2.5", None)
    assert parse({}).empty


@pytest.mark.parametrize(
    "value, error_type, reason",
    [
        ({"limit": "-3"}, "parse_exception", "Limit field must be a positive number."),
        ({"limit": "lots"}, "parse_exception", "Limit field must be a positive number."),
        ({"unit": "minutes"}, "illegal_argument_exception", "No enum constant java.util.concurrent.TimeUnit.minutes"),
        ({"unit": None}, "parse_exception", "Can't get text on a VALUE_NULL at 1:9"),
        (["limit"], "parsing_exception",
         "Failed to parse object: expecting token of type [START_OBJECT] but found [START_ARRAY]"),
    ],
)
def test_parse_refusals(value: Any, error_type: str, reason: str) -> None:
    with pytest.raises(MlError) as caught:
        parse(value)
    assert (caught.value.status, caught.value.error_type, caught.value.reason) == (400, error_type, reason)


def test_merge_never_overwrites_with_a_missing_field() -> None:
    full = RateLimiter("1", "MILLISECONDS")
    assert full.merged(RateLimiter()) == full
    assert full.merged(RateLimiter("2")) == RateLimiter("2", "MILLISECONDS")
    assert RateLimiter("1").merged(RateLimiter(unit="DAYS")) == RateLimiter("1", "DAYS")


def test_update_pre_check_and_deploy_check_match_ml_commons() -> None:
    full, number, unit, empty = RateLimiter("1", "MILLISECONDS"), RateLimiter("1"), RateLimiter(unit="MILLISECONDS"), RateLimiter()
    changes = RateLimiter.changes
    assert not changes(full, None) and not changes(full, empty)
    assert changes(None, full) and changes(empty, full)
    assert changes(unit, number) and changes(unit, full) and changes(number, full)
    assert not changes(full, full) and not changes(full, unit) and not changes(full, number)
    assert full.deploy_required(RateLimiter("2"))
    assert empty.deploy_required(full)
    assert unit.deploy_required(number) and number.deploy_required(unit)
    assert not unit.deploy_required(RateLimiter(unit="NANOSECONDS"))
    assert not number.deploy_required(RateLimiter("2"))


# -- model-level buckets --------------------------------------------------------------------


def test_limit_is_shared_out_over_the_worker_nodes(cluster: Cluster) -> None:
    one, two = deployed(cluster, {"limit": "4", "unit": "MINUTES"})
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]  # 4 per minute on 2 nodes: 2 each
    assert burst(cluster, two, 3) == ["ok", "ok", MODEL_LEVEL]


def test_buckets_refill_on_simulated_time(cluster: Cluster) -> None:
    one, _ = deployed(cluster, {"limit": "4", "unit": "MINUTES"})
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]
    cluster.advance(30)  # 2 per minute: one token back
    assert burst(cluster, one, 2) == ["ok", MODEL_LEVEL]
    cluster.advance(600)  # never more than the bucket holds
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]


def test_a_share_below_one_still_lets_one_request_through(cluster: Cluster) -> None:
    one, _ = deployed(cluster, {"limit": "1", "unit": "MINUTES"})
    assert burst(cluster, one, 2) == ["ok", MODEL_LEVEL]
    cluster.advance(60)  # half a token per minute per node
    assert served(cluster, one) == MODEL_LEVEL
    cluster.advance(60)
    assert served(cluster, one) == "ok"


@pytest.mark.parametrize("limiter", [None, {"limit": "1"}, {"unit": "SECONDS"}, {"limit": "0", "unit": "SECONDS"}])
def test_no_bucket_no_throttle(cluster: Cluster, limiter: dict[str, Any] | None) -> None:
    one, _ = deployed(cluster, limiter)
    assert burst(cluster, one, 5) == ["ok"] * 5


def test_a_change_of_workers_rebuilds_the_buckets_full(cluster: Cluster) -> None:
    one, two = deployed(cluster, {"limit": "4", "unit": "HOURS"})
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]
    cluster.ml_commons.deployer.local.remove(two, MODEL, release_now=True)  # one worker left: the whole limit is its share
    assert burst(cluster, one, 5) == ["ok"] * 4 + [MODEL_LEVEL]


def test_a_worker_that_leaves_and_comes_back_starts_with_a_full_bucket(cluster: Cluster) -> None:
    (one,) = deployed(cluster, {"limit": "2", "unit": "HOURS"}, workers=1)
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]
    cluster.ml_commons.deployer.local.remove(one, MODEL, release_now=True)
    serve(cluster, MODEL, [one])  # the same single worker again: a new cache entry, a new bucket
    assert burst(cluster, one, 3) == ["ok", "ok", MODEL_LEVEL]


def test_a_new_limiter_rebuilds_the_buckets(cluster: Cluster) -> None:
    one, _ = deployed(cluster, {"limit": "2", "unit": "HOURS"})
    assert burst(cluster, one, 2) == ["ok", MODEL_LEVEL]
    cluster.ml_commons.updates.update(MODEL, {"rate_limiter": {"limit": "6"}})
    assert burst(cluster, one, 4) == ["ok"] * 3 + [MODEL_LEVEL]


def test_the_update_broadcast_refreshes_a_deployed_models_buckets(cluster: Cluster) -> None:
    one, _ = deployed(cluster, {"limit": "2", "unit": "HOURS"})
    assert burst(cluster, one, 2) == ["ok", MODEL_LEVEL]
    cluster.ml_commons.updates.update(MODEL, {"description": "no cache change", "is_enabled": True})
    assert served(cluster, one) == MODEL_LEVEL
    cluster.ml_commons.updates.update(MODEL, {"is_enabled": False})  # the enable flag is cached: broadcast
    assert burst(cluster, one, 2) == ["ok", MODEL_LEVEL]


def test_a_zero_limit_on_a_deployed_model_fails_the_cache_refresh(cluster: Cluster) -> None:
    nodes = deployed(cluster, {"limit": "2", "unit": "HOURS"})
    with pytest.raises(MlError) as caught:
        cluster.ml_commons.updates.update(MODEL, {"rate_limiter": {"limit": "0"}})
    assert (caught.value.status, caught.value.error_type) == (500, "runtime_exception")
    assert caught.value.reason == (
        f"Successfully update ML model index with model ID {MODEL} but update model cache was failed on following "
        f"nodes [{', '.join(nodes)}], please retry or redeploy model manually."
    )
    assert cluster.ml_commons.store[MODEL_INDEX].get(MODEL)["rate_limiter"]["limit"] == "0"  # the index took it


# -- user-level buckets ---------------------------------------------------------------------


def controller(cluster: Cluster, **users: dict[str, Any]) -> None:
    cluster.ml_commons.store[CONTROLLER_INDEX].index(MODEL, {"model_id": MODEL, "user_rate_limiter": users})


def test_user_level_is_asked_after_model_level_which_still_spends(cluster: Cluster) -> None:
    (one,) = deployed(cluster, {"limit": "3", "unit": "MINUTES"}, workers=1)
    controller(cluster, alice={"limit": "1", "unit": "MINUTES"})
    assert served(cluster, one, "alice") == "ok"
    assert served(cluster, one, "alice") == USER_LEVEL  # ... having taken a model-level token
    assert burst(cluster, one, 2, "bob") == ["ok", MODEL_LEVEL]  # bob has no limit of his own


def test_user_buckets_are_per_user_and_refill(cluster: Cluster) -> None:
    (one,) = deployed(cluster, None, workers=1)
    controller(cluster, alice={"limit": "2", "unit": "SECONDS"}, bob={"limit": "1", "unit": "SECONDS"})
    assert burst(cluster, one, 3, "alice") == ["ok", "ok", USER_LEVEL]
    assert burst(cluster, one, 2, "bob") == ["ok", USER_LEVEL]
    assert burst(cluster, one, 3) == ["ok"] * 3  # no user: no user-level limit
    cluster.advance(1)
    assert burst(cluster, one, 3, "alice") == ["ok", "ok", USER_LEVEL]
