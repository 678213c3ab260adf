"""Property-based fuzzing of every route (`benchmarks.fuzz` strategies, fewer examples):
no request makes the server answer 5xx, and no error answer changes the cluster's state.

The longer run is `python -m benchmarks.fuzz --requests 20000` (table in the README).
"""

from __future__ import annotations

from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.fuzz import FuzzRequest, Target, demo_cluster, partial_update, requests, upstream_500

EXAMPLES = 400


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    served = Target(demo_cluster())
    try:
        yield served
    finally:
        served.close()


def test_every_route_answers_bad_input_without_5xx_or_state_change(target: Target) -> None:
    # Derandomized: the same requests on every run, so CI is repeatable; `benchmarks.fuzz
    # --seed N` explores further.
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(requests(target.routes, target.ids))
    def check(request: FuzzRequest) -> None:
        status, body, changed = target.send(request)
        assert status != 0, f"no answer: {body[:500]!r}"
        assert status < 500 or upstream_500(body), body[:500]
        assert not (status >= 400 and changed) or partial_update(body), f"{status} changed the state: {body[:500]!r}"

    check()


def test_the_fuzzed_routes_are_the_whole_route_table(target: Target) -> None:
    """Both dialects and /_sim are in the table the strategies draw from."""
    paths = {path for _, path in target.routes}
    assert {"/_sim/clock/_advance", "/_ml/trained_models/{model_id}", "/_plugins/_ml/models/{model_id}/_predict"} <= paths
    assert len(target.routes) == len({(r.method, r.resource.canonical) for r in target.client.app.router.routes() if r.method != "HEAD"})
