"""Guardrails: Java regexes, the stop-words percolator and the guardrail model, on the way in
and on the way out of a remote model."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.opensearch import guardrails
from cluster.opensearch.guardrails import gson_json, java_regex, model_accepts, percolate, regex_rejects

from .test_predict import add_remote, connector, data_as_map, error_of, predict, register_remote

INPUT_TRIGGERED = (400, ("illegal_argument_exception", "guardrails triggered for user input"))
OUTPUT_TRIGGERED = (400, ("illegal_argument_exception", "guardrails triggered for LLM output"))
ACCEPT_REGEX = '^"\\s*[Aa]ccept\\s*"$'  # the JSON of a string answer keeps its quotes


def regex_guard(input_regex: list[str], output_regex: list[str] | None = None) -> dict:
    return {
        "type": "local_regex",
        "input_guardrail": {"regex": input_regex},
        "output_guardrail": {"regex": output_regex or []},
    }


def stop_words_guard(index: str = "words0") -> dict:
    spec = {"stop_words": [{"index_name": index, "source_fields": ["title"]}]}
    return {"input_guardrail": spec, "output_guardrail": spec}  # type defaults to local_regex


# -- pure parts ------------------------------------------------------------------------


def test_java_regex_translations() -> None:
    assert java_regex(r"\Qa.b\E").fullmatch("a.b")
    assert not java_regex(r"\Qa.b\E").fullmatch("axb")
    assert java_regex(r"(?<word>\w+)!").fullmatch("hi!").group("word") == "hi"
    assert java_regex(r"end\z").search("the end")
    assert java_regex(r"end\Z").search("the end\n")
    assert not java_regex(r"end\z").search("the end\n")


def test_regex_must_match_the_whole_text() -> None:
    assert regex_rejects("please abort now", [".*abort.*"])
    assert not regex_rejects("please abort now", ["abort"])  # matches(), not find()
    assert not regex_rejects("line one\nabort", [".*abort.*"])  # . stops at line ends, as in Java


@pytest.mark.parametrize(
    ("query", "text", "hit"),
    [
        ({"query_string": {"query": "title: blacklist"}}, "a BlackList item", True),
        ({"query_string": {"query": "title: blacklist"}}, "a blacklisted item", False),
        ({"query_string": {"query": 'title: "master slave"'}}, "Master Slave architecture", True),
        ({"query_string": {"query": 'title: "master slave"'}}, "slave master", False),
        ({"query_string": {"query": "title: black*"}}, "the blackout", True),
        ({"query_string": {"query": "bomb AND plan"}}, "a bomb", False),
        ({"query_string": {"query": "bomb OR plan"}}, "a plan", True),
        ({"query_string": {"query": "bomb AND NOT (toy OR game)"}}, "a toy bomb", False),
        ({"query_string": {"query": "body: bomb"}}, "bomb", False),  # not a source field
        ({"query_string": {"query": "title: (toy OR bomb)"}}, "bomb", True),
        ({"match": {"title": "kill abort"}}, "abort mission", True),
        ({"match": {"title": {"query": "kill abort", "operator": "and"}}}, "abort mission", False),
        ({"match_phrase": {"title": "rob a bank"}}, "how to rob a bank", True),
        ({"term": {"title": "Bank"}}, "a bank", False),  # term queries are not analysed
        ({"terms": {"title": ["bank", "vault"]}}, "the vault", True),
        ({"bool": {"should": [{"term": {"title": "x"}}, {"term": {"title": "y"}}]}}, "y", True),
        ({"bool": {"must": [{"term": {"title": "x"}}], "must_not": [{"term": {"title": "y"}}]}}, "x y", False),
        ({"match_all": {}}, "anything", True),
        ({"exists": {"field": "title"}}, "anything", True),  # clauses search.py knows
        (
            {"bool": {"must": [{"query_string": {"query": "rob"}}, {"match_phrase": {"title": "a bank"}}]}},
            "rob a bank",
            True,
        ),
    ],
)
def test_percolate_subset(query: dict, text: str, hit: bool) -> None:
    assert percolate(query, {"title": text}) is hit


def test_unsupported_query_is_reported_not_guessed() -> None:
    with pytest.raises(guardrails.UnsupportedQuery):
        percolate({"fuzzy": {"title": "bank"}}, {"title": "bank"})


def test_gson_json_escapes_and_doubles() -> None:
    assert gson_json("accept") == '"accept"'
    assert gson_json({"a": 1.0, "b": None, "c": "x=<y>", "d": 2}) == '{"a":1.0,"c":"x\\u003d\\u003cy\\u003e","d":2}'
    assert gson_json([1e10, 0.0001]) == "[1.0E10,1.0E-4]"
    assert model_accepts("accept", ACCEPT_REGEX)
    assert not model_accepts("accept", "^\\s*[Aa]ccept\\s*$")  # the documented regex never sees bare text


# -- local_regex on a remote model --------------------------------------------------------


async def test_input_regex_triggers_and_passes(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=regex_guard([".*abort.*"]))
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "please abort"}})
    assert (status, error_of(body)) == INPUT_TRIGGERED
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "please continue"}})
    assert status == 200


async def test_input_guardrail_refuses_before_the_endpoint_is_called(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=regex_guard([".*abort.*"]))
    before = cluster.env.now
    await predict(http, "remote-1", {"parameters": {"prompt": "abort"}})
    assert cluster.env.now == before


async def test_output_regex_triggers_on_the_model_response(cluster: Cluster, http: TestClient) -> None:
    answering = connector(mlsim_response='{"text": "I will ${parameters.prompt} it"}')
    add_remote(cluster, connector=answering, guardrails=regex_guard([], [".*destroy.*"]))
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "destroy"}})
    assert (status, error_of(body)) == OUTPUT_TRIGGERED
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "fix"}})
    assert (status, data_as_map(body)) == (200, {"text": "I will fix it"})


async def test_stop_words_trigger_on_input_and_output(http: TestClient, client: AsyncOpenSearch) -> None:
    # the guardrails page's example: a percolator index of query_string queries
    mappings = {"mappings": {"properties": {"title": {"type": "text"}, "query": {"type": "percolator"}}}}
    assert (await http.put("/words0", json=mappings)).status == 200
    for doc_id, query in (("1", "title: blacklist"), ("2", 'title: "Master slave architecture"')):
        written = await http.put(f"/words0/_doc/{doc_id}?refresh=true", json={"query": {"query_string": {"query": query}}})
        assert written.status in (200, 201)
    model_id = await register_remote(client, guardrails=stop_words_guard())
    status, body = await predict(http, model_id, {"parameters": {"prompt": "a test of Master slave architecture"}})
    assert (status, error_of(body)) == INPUT_TRIGGERED
    status, _ = await predict(http, model_id, {"parameters": {"prompt": "a test of master architecture"}})
    assert status == 200
    answering = connector(mlsim_response="here is the blacklist")
    chatty = await register_remote(client, answering, guardrails=stop_words_guard())
    status, body = await predict(http, chatty, {"parameters": {"prompt": "hello"}})
    assert (status, error_of(body)) == OUTPUT_TRIGGERED


async def test_missing_stop_words_index_lets_the_request_pass(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=stop_words_guard("no_such_index"))
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "blacklist"}})
    assert status == 200
    events = [e for e in cluster.log if e.kind == "guardrail_search_failed"]
    assert events and "no such index [no_such_index]" in events[-1].fields["reason"]


async def test_invalid_guardrail_regex_is_a_bad_request(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=regex_guard(["(unclosed"]))
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert status == 400
    assert error_of(body)[1].startswith("Invalid regex in guardrails")


# -- model guardrails ---------------------------------------------------------------------

JUDGE_RULES = json.dumps([{"if_matches": "(?i)rob|kill", "response": "reject"}, {"response": "accept"}])


def add_judge(cluster: Cluster, model_id: str = "judge") -> None:
    """A guardrail model whose simulated endpoint answers accept or reject."""
    judge = connector('{"prompt": "Is this harmful? ${parameters.question}"}', mlsim_response_rules=JUDGE_RULES)
    add_remote(cluster, model_id, connector=judge)


def model_guard(judge: str = "judge", regex: str = ACCEPT_REGEX) -> dict:
    spec = {"model_id": judge, "response_validation_regex": regex}
    return {"type": "model", "input_guardrail": spec, "output_guardrail": spec}


async def test_judge_answers_accept_or_reject(cluster: Cluster, http: TestClient) -> None:
    add_judge(cluster)
    _, body = await predict(http, "judge", {"parameters": {"question": "how to rob a bank"}})
    assert data_as_map(body) == {"response": "reject"}
    _, body = await predict(http, "judge", {"parameters": {"question": "how many indices"}})
    assert data_as_map(body) == {"response": "accept"}


async def test_model_guardrail_on_the_question(cluster: Cluster, http: TestClient) -> None:
    add_judge(cluster)
    add_remote(cluster, guardrails=model_guard())
    rejected = {"parameters": {"prompt": "${parameters.question}", "question": "how to rob a bank"}}
    status, body = await predict(http, "remote-1", rejected)
    assert (status, error_of(body)) == INPUT_TRIGGERED
    accepted = {"parameters": {"prompt": "${parameters.question}", "question": "hello"}}
    status, body = await predict(http, "remote-1", accepted)
    assert (status, data_as_map(body)["prompt"]) == (200, "hello")


async def test_model_guardrail_asks_the_judge_in_simulated_time(cluster: Cluster, http: TestClient) -> None:
    add_judge(cluster)
    add_remote(cluster, guardrails=model_guard())
    before = cluster.env.now
    await predict(http, "remote-1", {"parameters": {"prompt": "hi", "question": "hello"}})
    latency = cluster.ml_commons.settings.remote_latency_seconds
    assert cluster.env.now == pytest.approx(before + 3 * latency)  # judge in, model, judge out


async def test_no_question_passes_the_input_guardrail(cluster: Cluster, http: TestClient) -> None:
    add_judge(cluster)
    input_only = {"type": "model", "input_guardrail": model_guard()["input_guardrail"]}
    add_remote(cluster, guardrails=input_only)
    before = cluster.env.now
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "how to rob a bank"}})
    assert status == 200
    assert cluster.env.now == pytest.approx(before + cluster.ml_commons.settings.remote_latency_seconds)  # judge not asked


async def test_model_guardrail_on_the_output_asks_about_the_response(cluster: Cluster, http: TestClient) -> None:
    add_judge(cluster)
    answering = connector(mlsim_response="Step one: rob the ${parameters.target}")
    add_remote(cluster, connector=answering, guardrails=model_guard())
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x", "target": "bank"}})
    assert (status, error_of(body)) == OUTPUT_TRIGGERED


async def test_unreachable_guardrail_model_accepts(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=model_guard("missing-judge"))
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x", "question": "how to rob a bank"}})
    assert status == 200
    assert any(e.kind == "guardrail_model_failed" for e in cluster.log)


async def test_model_guarding_itself_accepts_instead_of_recursing(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, guardrails=model_guard("remote-1"))
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x", "question": "q"}})
    assert status == 200


async def test_guardrails_do_not_apply_to_local_models(cluster: Cluster, http: TestClient) -> None:
    from .test_predict import add_embedding

    add_embedding(cluster, guardrails=regex_guard([".*"]))
    status, _ = await predict(http, "embed-1", {"text_docs": ["anything"]})
    assert status == 200
