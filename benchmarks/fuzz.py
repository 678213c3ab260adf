"""Fuzz benchmark: `python -m benchmarks.fuzz [--requests N] [--quick] [--seed N] [--json FILE]`.

Malformed and edge-case requests against every route of the app serving the demo world
(both dialects and `/_sim`), drawn by hypothesis: ids with lone surrogates, emoji and
percent signs; unknown and extreme query parameters; bodies that are random JSON on the
routes' field names, extreme numbers, deep nesting, broken JSON, the wrong media type, or a
`Content-Encoding` the bytes do not have; and other methods. Two properties are checked on
every answer: no 5xx (other than ml-commons' own 500s, counted apart), and an error answer
leaves the cluster's state exactly as it was (`snapshot`). `tests/api/test_fuzz.py` runs the
same strategies, fewer of them, in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gzip
import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence
from urllib.parse import quote

from aiohttp import ClientError, ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, seed as hypothesis_seed, settings, strategies as st
from yarl import URL

from api.app import create_app
from cluster.cluster import Cluster
from cluster.demo import FLIGHT_DELAY_MODELS, NER_MODEL, build_demo
from cluster.opensearch.demo import CHAT_MODEL, EMBEDDING_MODEL, build_opensearch_demo
from cluster.opensearch.documents import MODEL_INDEX, TASK_INDEX

from benchmarks.output import write_json

#: Wall seconds a request may take before it counts as unanswered.
ANSWER_TIMEOUT = 60.0
#: ml-commons answers these with 500 on purpose (a busy cluster, an interpolation loop).
UPSTREAM_500_TYPES = frozenset({"limit_exceeded_exception", "illegal_state_exception"})
#: How ml-commons' model update begins its 500 when the index took the change but a node's
#: cache refresh failed: the one error answer that changes the state on purpose.
PARTIAL_UPDATE = "Successfully update ML model index with model ID "

FIELD_NAMES = (
    "seconds", "kind", "rate", "steps", "times", "csv", "column", "mean_rate", "amplitude", "period", "phase",
    "docs", "text_docs", "inference_config", "model_id", "model_type", "name", "description", "input", "field_names",
    "definition", "total_definition_length", "total_parts", "definition_part", "vocabulary", "merges", "scores",
    "number_of_allocations", "threads_per_allocation", "priority", "queue_capacity", "cache_size", "deployment_id",
    "adaptive_allocations", "enabled", "min_number_of_allocations", "max_number_of_allocations", "timeout",
    "machine_memory", "allocated_processors", "zone", "attributes", "node_id", "processors", "metadata", "tags",
    "function_name", "model_format", "model_config", "model_group_id", "version", "url", "model_content_hash_value",
    "embedding_dimension", "framework_type", "connector", "connector_id", "protocol", "parameters", "credential",
    "actions", "is_enabled", "rate_limiter", "limit", "unit", "user_rate_limiter", "guardrails", "type",
    "input_guardrail", "output_guardrail", "stop_words", "regex", "index_name", "source_fields", "interface",
    "query", "size", "from", "sort", "_source", "persistent", "transient", "settings", "mappings", "processors",
    "mlsim_response", "mlsim_response_rules", "if_matches", "response", "algorithm", "input_index", "return_number",
)
PARAM_NAMES = (
    "pretty", "human", "filter_path", "error_trace", "format", "since", "size", "from", "timeout", "wait_for",
    "number_of_allocations", "threads_per_allocation", "priority", "queue_capacity", "cache_size", "deployment_id",
    "force", "allow_no_match", "include", "exclude_generated", "decompress_definition", "reassign", "deploy",
    "source", "source_content_type", "h", "v", "bytes", "time", "s", "master_timeout", "defer_definition_decompression",
)
ODD_TEXT = (
    "", " ", "\ud800", "a\udfffb", "\U0001f600", "\x00", "%", "%ED%A0%80", "/", "..", "*", "_all", ",", "a,b", "\\",
    '"', "{", "-1", "0", "1e308", "NaN", "true", "30s", "-1s", "10000d", "9" * 30, "x" * 300,
)
EXTREME_NUMBERS = (-1, 0, 1, 2**31 - 1, 2**31, 2**63, 10**30, 1e308, -1e308, 1e-300, 0.5, -0.0)
BROKEN_BODIES = (
    b"{", b"[", b"}", b"nope", b"\xff\xfe", b"\xef\xbb\xbf{}", b"null", b"[]", b'"x"', b"1", b"{'a': 1}",
    b"[" * 1001 + b"]" * 1001, b'{"a":' + b"[" * 999 + b"]" * 999 + b"}",
    b'{"seconds": ' + b"9" * 5000 + b"}", b'{"seconds": 1e999}', b'{"seconds": NaN}', b'{"rate": -Infinity}',
    b'{"name": "\\ud800"}', b'{"description": "\\udc00\\ud800"}', b'{"a": 1, "a": 2}', b'{"a": 1} trailing',
)
#: Valid requests on the demo world; the strategies send them with one value replaced, one
#: field dropped or one added, so validation past the parser is exercised too.
TEMPLATES: tuple[tuple[str, str, Any], ...] = (
    ("PUT", "/_ml/trained_models/fz-model", {
        "model_type": "tree_ensemble", "description": "fuzzed", "input": {"field_names": ["a", "b"]},
        "inference_config": {"regression": {"results_field": "p"}}, "metadata": {"k": [1, "v"]},
    }),
    ("POST", f"/_ml/trained_models/{NER_MODEL}/deployment/_update", {"number_of_allocations": 2}),
    ("POST", f"/_ml/trained_models/{NER_MODEL}/_infer", {"docs": [{"text_field": "Hello from Berlin"}]}),
    ("PUT", "/_ingest/pipeline/fz-pipeline", {
        "description": "d", "processors": [{"inference": {"model_id": FLIGHT_DELAY_MODELS[0], "target_field": "t"}}],
    }),
    ("POST", "/_sim/nodes", {"name": "fz-node", "machine_memory": "8gb", "allocated_processors": 4, "zone": "z"}),
    ("POST", f"/_sim/traffic/{NER_MODEL}", {"kind": "poisson", "rate": 1}),
    ("POST", f"/_sim/traffic/{NER_MODEL}", {"kind": "step", "steps": [[0, 1], [5, 2]]}),
    ("POST", "/_sim/clock/_advance", {"seconds": 1}),
    ("POST", "/_plugins/_ml/model_groups/_register", {"name": "fz-group", "description": "d"}),
    ("PUT", f"/_plugins/_ml/models/{EMBEDDING_MODEL}", {
        "description": "x", "rate_limiter": {"limit": "400", "unit": "MINUTES"},
    }),
    ("POST", f"/_plugins/_ml/models/{EMBEDDING_MODEL}/_predict", {"text_docs": ["today is sunny"]}),
    ("POST", f"/_plugins/_ml/models/{CHAT_MODEL}/_predict", {"parameters": {"prompt": "hello"}}),
    ("PUT", f"/_plugins/_ml/models/{CHAT_MODEL}", {
        "guardrails": {"type": "local_regex", "input_guardrail": {"regex": [".*abort.*"]},
                       "output_guardrail": {"regex": []}},
    }),
    ("POST", "/_plugins/_ml/connectors/_create", {
        "name": "fz", "description": "d", "version": "1", "protocol": "http", "parameters": {"model": "m"},
        "credential": {"key": "k"},
        "actions": [{"action_type": "PREDICT", "method": "POST", "url": "https://x.invalid", "request_body": "{}"}],
    }),
    ("PUT", "/_cluster/settings", {"persistent": {"plugins.ml_commons.only_run_on_ml_node": True}}),
    ("PUT", "/fz-index/_doc/1", {"title": "stop word"}),
    ("POST", "/_plugins/_ml/models/_search", {"query": {"match_all": {}}, "size": 5}),
)
CONTENT_TYPES = (
    "application/json", "application/json", "application/json", "application/vnd.elasticsearch+json; compatible-with=9",
    None, "text/plain", "application/yaml", "application/x-www-form-urlencoded", "application/vnd.elasticsearch+json; compatible-with=7",
)
OTHER_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "HEAD")


@dataclass(frozen=True, slots=True)
class FuzzRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class Tally:
    """What a run saw: every answer's status class and each broken property."""

    requests: int = 0
    ok: int = 0
    client_errors: int = 0
    server_errors: int = 0
    upstream_500s: int = 0
    state_changed_after_error: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, request: FuzzRequest, status: int, body: bytes, changed: bool) -> None:
        self.requests += 1
        if status >= 500 and upstream_500(body):
            self.upstream_500s += 1
        elif status >= 500 or status == 0:  # 0: no answer at all
            self.server_errors += 1
            self.failures.append(f"{status} {request.method} {request.path!r}: {body[:300]!r}")
        elif status >= 400:
            self.client_errors += 1
        else:
            self.ok += 1
        if status >= 400 and changed and not partial_update(body):
            self.state_changed_after_error += 1
            self.failures.append(f"state changed by {status} {request.method} {request.path!r}: {body[:300]!r}")


def upstream_500(body: bytes) -> bool:
    """A 500 ml-commons itself gives for this input (not a simulator bug)."""
    return error_field(body, "type") in UPSTREAM_500_TYPES or partial_update(body)


def partial_update(body: bytes) -> bool:
    """ml-commons' 500 after a model update the index took (see `PARTIAL_UPDATE`)."""
    reason = error_field(body, "reason")
    is_runtime = error_field(body, "type") == "runtime_exception"
    return is_runtime and isinstance(reason, str) and reason.startswith(PARTIAL_UPDATE)


def error_field(body: bytes, name: str) -> object:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    return error.get(name) if isinstance(error, dict) else None


# -- the world and its state ----------------------------------------------------------------


def demo_cluster() -> Cluster:
    """The `--demo` world on the virtual clock, settled (every start and deploy done)."""
    cluster = Cluster(clock="virtual", seed=7)
    build_demo(cluster)
    build_opensearch_demo(cluster.ml_commons)
    cluster.advance(60)
    return cluster


def known_ids(cluster: Cluster) -> list[str]:
    """Ids the world has, so fuzzed paths reach handlers past their not-found checks."""
    state = cluster.state
    ids = [*state.models, *state.aliases, *state.assignments, *state.nodes, *state.pipelines]
    ids += [node.name for node in state.nodes.values()]
    for index in cluster.ml_commons.store.indices.values():
        ids += [index.name, *index.docs]
    return sorted(set(ids))


#: The fields of a model document its deployment moves (and ml-commons' tasks, its record
#: of work):
#: like routes' states on the Elasticsearch side, left out of the snapshot, because a
#: predict auto-deploys an undeployed model before it can fail, as ml-commons does.
DEPLOYMENT_FIELDS = frozenset({
    "model_state", "current_worker_node_count", "planning_worker_node_count", "planning_worker_nodes",
    "last_deployed_time", "last_undeployed_time", "last_updated_time", "deploy_to_all_nodes",
    "auto_redeploy_retry_times",
})


def _written(index: str, source: dict[str, Any]) -> str:
    if index == MODEL_INDEX:
        source = {k: v for k, v in source.items() if k not in DEPLOYMENT_FIELDS}
    return json.dumps(source, sort_keys=True, default=str)


def snapshot(cluster: Cluster) -> str:
    """Everything a request can write (not what time or deployments move: routes' states,
    counters, ml-commons tasks and models' deployment fields)."""
    state = cluster.state
    ml = cluster.ml_commons
    parts: dict[str, Any] = {
        "settings": repr(state.settings),
        "nodes": sorted(state.nodes),
        "leaving": sorted(state.leaving),
        "models": {k: repr(v) for k, v in state.models.items()},
        "aliases": state.aliases,
        "deployments": {k: repr(a.params) for k, a in state.assignments.items()},
        "pipelines": repr(state.pipelines),
        "ml_settings": repr(ml.settings),
        "documents": {
            name: {doc_id: _written(name, stored.source) for doc_id, stored in index.docs.items()}
            for name, index in ml.store.indices.items()
            if name != TASK_INDEX
        },
        "traffic": cluster.serving.profile_counts(),
    }
    return repr(parts)


# -- strategies -----------------------------------------------------------------------------


def route_table(app: web.Application) -> list[tuple[str, str]]:
    """(method, path pattern) of every route, HEAD twins left out."""
    routes = {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}
    return sorted(routes)


def _odd_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(st.characters(exclude_categories=()), max_size=12),
    )


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-5, 100), st.sampled_from(EXTREME_NUMBERS),
        st.floats(allow_nan=False, allow_infinity=False, width=32), _odd_text(),
    )
    keys = st.one_of(st.sampled_from(FIELD_NAMES), _odd_text())
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
        max_leaves=12,
    )


def bodies() -> st.SearchStrategy[bytes]:
    objects = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values(), max_size=5)
    as_json = objects.map(lambda value: json.dumps(value).encode())
    return st.one_of(st.just(b""), as_json, as_json, as_json, st.sampled_from(BROKEN_BODIES), st.binary(max_size=40))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON value (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def mutated(body: Any, path: tuple[Any, ...], action: str, replacement: Any, key: str) -> Any:
    """`body` with the value at `path` replaced, or the path dropped, or `key` added beside it."""
    body = copy.deepcopy(body)
    if not path:
        return replacement if action == "replace" else body
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "replace":
        parent[last] = replacement
    elif action == "drop":
        del parent[last]
    elif isinstance(parent, dict):
        parent[key] = replacement
    return body


def template_requests() -> st.SearchStrategy[tuple[str, str, bytes]]:
    """A valid request with one change."""
    values = json_values()
    keys = st.one_of(st.sampled_from(FIELD_NAMES), _odd_text())

    @st.composite
    def one(draw: Any) -> tuple[str, str, bytes]:
        method, path, body = draw(st.sampled_from(TEMPLATES))
        where = draw(st.sampled_from(_paths(body)))
        action = draw(st.sampled_from(("replace", "replace", "drop", "add")))
        return method, path, json.dumps(mutated(body, where, action, draw(values), draw(keys))).encode()

    return one()


def _path(template: str, ids: st.SearchStrategy[str], draw: Any) -> str:
    def one(_: re.Match[str]) -> str:
        value = draw(ids)
        return quote(value.encode("utf-8", "surrogatepass"), safe="")

    return re.sub(r"\{[^}]+\}", one, template)


def requests(routes: Sequence[tuple[str, str]], ids: Sequence[str]) -> st.SearchStrategy[FuzzRequest]:
    id_strategy = st.one_of(st.sampled_from(ids), st.sampled_from(ids), _odd_text())
    query = st.dictionaries(
        st.one_of(st.sampled_from(PARAM_NAMES), _odd_text()), st.one_of(st.sampled_from(ODD_TEXT), _odd_text()),
        max_size=3,
    )
    body_strategy = bodies()

    templates = template_requests()

    @st.composite
    def one(draw: Any) -> FuzzRequest:
        if draw(st.integers(0, 2)) == 0:  # a third: a valid request with one change
            method, path, body = draw(templates)
            return FuzzRequest(method, path, {"Content-Type": "application/json"}, body)
        method, template = draw(st.sampled_from(routes))
        if draw(st.integers(0, 9)) == 0:
            method = draw(st.sampled_from(OTHER_METHODS))
        path = _path(template, id_strategy, draw)
        params = draw(query)
        if params:
            path += "?" + "&".join(
                f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                for k, v in params.items()
            )
        body = draw(body_strategy)
        headers: dict[str, str] = {}
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        if content_type is not None and body:
            headers["Content-Type"] = content_type
        encoding = draw(st.sampled_from((None, None, None, None, "gzip", "gzip-plain", "deflate")))
        if encoding == "gzip" and body:
            headers["Content-Encoding"], body = "gzip", gzip.compress(body)
        elif encoding is not None and body:
            headers["Content-Encoding"] = "gzip" if encoding == "gzip-plain" else "deflate"
        return FuzzRequest(method, path, headers, body)

    return one()


# -- running ----------------------------------------------------------------------------------


class Target:
    """The app for one cluster, served on a loop this object owns (hypothesis calls in sync)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.loop = asyncio.new_event_loop()
        self.client = TestClient(TestServer(create_app(cluster)), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())
        self.routes = route_table(self.client.app)
        self.ids = known_ids(cluster)

    def send(self, request: FuzzRequest) -> tuple[int, bytes, bool]:
        """Status, body, and whether the state differs afterwards."""
        before = snapshot(self.cluster)
        status, body = self.loop.run_until_complete(self._send(request))
        return status, body, snapshot(self.cluster) != before

    async def _send(self, request: FuzzRequest) -> tuple[int, bytes]:
        """Status 0 when no answer came (a dropped connection or `ANSWER_TIMEOUT`)."""
        base = str(self.client.make_url("/")).rstrip("/")
        try:
            response = await self.client.session.request(
                request.method, URL(base + request.path, encoded=True), data=request.body or None,
                headers=request.headers, skip_auto_headers=("Content-Type",), timeout=ClientTimeout(ANSWER_TIMEOUT),
            )
            async with response:
                return response.status, await response.read()
        except (ClientError, asyncio.TimeoutError) as exc:
            return 0, repr(exc).encode()

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


def run(count: int, seed: int) -> tuple[Tally, float]:
    """`count` requests drawn with `seed`; the tally and the wall seconds they took."""
    target = Target(demo_cluster())
    tally = Tally()

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(requests(target.routes, target.ids))
    def check(request: FuzzRequest) -> None:
        status, body, changed = target.send(request)
        tally.record(request, status, body, changed)

    started = time.perf_counter()
    try:
        check()
    finally:
        target.close()
    return tally, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests to send (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="2,000 requests")
    parser.add_argument("--seed", type=int, default=20261202, help="hypothesis seed (default: %(default)s)")
    parser.add_argument("--json", dest="json_path", help="also write the tally to this JSON file")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else args.requests
    tally, wall = run(count, args.seed)
    print("| requests | 2xx | 4xx | 5xx | ml-commons' own 500s | state changes after errors | wall s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {tally.requests:,} | {tally.ok:,} | {tally.client_errors:,} | {tally.server_errors} | "
        f"{tally.upstream_500s} | {tally.state_changed_after_error} | {wall:.1f} |"
    )
    for failure in tally.failures[:20]:
        print(failure)
    write_json(args.json_path, {**asdict(tally), "wall_seconds": round(wall, 1), "seed": args.seed})
    return 1 if tally.server_errors or tally.state_changed_after_error else 0


if __name__ == "__main__":
    raise SystemExit(main())
