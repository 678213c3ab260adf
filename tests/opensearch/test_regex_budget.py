"""User-supplied regexes stop at their budget instead of freezing the server: a catastrophic
guardrail regex rejects (as a guardrail check that times out does), a catastrophic connector
rule is a 400, and other clients are answered meanwhile."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cluster.cluster import Cluster
from cluster.opensearch.budgeted_regex import BudgetedPattern, RegexBudgetExceeded

from .test_guardrails import INPUT_TRIGGERED, regex_guard
from .test_predict import add_remote, connector, error_of, predict

CATASTROPHIC = ".*(a|aa)+b"
TEXT = "a" * 40


def test_a_catastrophic_match_is_stopped() -> None:
    try:
        BudgetedPattern(CATASTROPHIC).fullmatch(TEXT)
    except RegexBudgetExceeded as exc:
        assert CATASTROPHIC in str(exc) and "100ms" in str(exc)
    else:
        raise AssertionError("the match ran to the end")


def test_nested_quantifiers_on_30_characters_answer() -> None:
    assert BudgetedPattern("(a+)+$").fullmatch("a" * 30 + "b") is None
    assert BudgetedPattern("(a+)+$").fullmatch("a" * 30) is not None


async def test_a_catastrophic_guardrail_rejects_and_the_server_goes_on(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=regex_guard([CATASTROPHIC]))
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": TEXT}})
    assert (status, error_of(body)) == INPUT_TRIGGERED
    stopped = [e.fields["reason"] for e in cluster.log.since(0) if e.kind == "guardrail_regex_stopped"]
    assert stopped and CATASTROPHIC in stopped[0]
    assert (await http.get("/_plugins/_ml/models/remote-1")).status == 200


async def test_a_catastrophic_connector_rule_is_a_400(cluster: Cluster, http: TestClient) -> None:
    rules = '[{"if_matches": "' + CATASTROPHIC + '", "response": "{}"}]'
    add_remote(cluster, connector=connector(mlsim_response_rules=rules))
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": TEXT}})
    assert status == 400
    assert error_of(body)[0] == "illegal_argument_exception" and "budget" in error_of(body)[1]
