"""Searching a `DocumentIndex`: the query DSL subset ml-commons users send, and OpenSearch's
search response.

Supported: `match_all`, `term`, `terms`, `ids`, `match`, `bool` (must/filter/should/must_not,
minimum_should_match), `exists`, `range`; `size`, `from`, `sort` on fields, `_source`
filtering, `track_total_hits`, `seq_no_primary_term`, `version`. Any other query type is
OpenSearch's 400 `parsing_exception` "unknown query [x]". Aggregations, highlighting and the
other search features are accepted and not computed (the response has no `aggregations`).

Field semantics follow the index mapping: a text field is analysed (lowercased words), so
`term` must name one of its words and `match` any (or, with `operator: and`, all) of them;
`<field>.keyword` and every other field compare whole values. Every hit scores 1.0 (no
relevance model), so unsorted hits come back in index order.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cluster.errors import MlError, illegal_argument

from .documents import PRIMARY_TERM, DocumentIndex
from .xcontent import parsing_exception, token_name

Source = dict[str, Any]
Matcher = Callable[[str, Source], bool]

DEFAULT_SIZE = 10
MAX_RESULT_WINDOW = 10_000
DEFAULT_TRACK_TOTAL_HITS = 10_000
#: Top-level keys of a search body this simulator reads; others OpenSearch knows are ignored.
IGNORED_KEYS = frozenset({"timeout", "terminate_after", "min_score", "explain", "stored_fields", "docvalue_fields",
                          "highlight", "aggs", "aggregations", "profile", "search_after", "stats", "collapse"})
RANGE_OPERATORS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
                   "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


@dataclass(frozen=True)
class FieldMapping:
    """Which fields are analysed text. `None` means dynamic mapping: every string is text
    (with a `.keyword` sub-field), as in an index created without mappings."""

    text_fields: frozenset[str] | None

    def is_text(self, field: str, value: Any) -> bool:
        if not isinstance(value, str) or field.endswith(".keyword"):
            return False
        return self.text_fields is None or field in self.text_fields


DYNAMIC = FieldMapping(None)


def analyze(text: str) -> list[str]:
    """The standard analyzer, near enough: lowercased runs of letters and digits."""
    return re.findall(r"\w+", text.lower())


def values_at(source: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path (arrays flattened; a `.keyword` suffix names the same value)."""
    if path.endswith(".keyword"):
        path = path[: -len(".keyword")]
    found: list[Any] = []

    def walk(node: Any, rest: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, rest)
            return
        if not isinstance(node, Mapping):
            return
        if rest in node:
            value = node[rest]
            found.extend(value if isinstance(value, list) else [value])
            return
        head, _, tail = rest.partition(".")
        if tail and head in node:
            walk(node[head], tail)

    walk(source, path)
    return [value for value in found if value is not None]


def same_value(stored: Any, wanted: Any) -> bool:
    """Whole-value equality with OpenSearch's coercions (numbers and booleans given as text)."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return str(stored).lower() == str(wanted).lower()
    if isinstance(stored, (int, float)) or isinstance(wanted, (int, float)):
        try:
            return float(stored) == float(wanted)
        except (TypeError, ValueError):
            return False
    return stored == wanted


# -- query parsing -----------------------------------------------------------------------


def compile_query(query: Any, mapping: FieldMapping = DYNAMIC) -> Matcher:
    """A predicate over (doc id, source) for one query clause; malformed clauses raise."""
    if not isinstance(query, dict):
        raise parsing_exception("[_na] query malformed, must start with start_object")
    if not query:
        raise parsing_exception("query malformed, empty clause found")
    kind = next(iter(query))
    if len(query) > 1:
        raise parsing_exception(f"[{kind}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    spec = query[kind]
    parser = QUERY_PARSERS.get(kind)
    if parser is None:
        raise parsing_exception(f"unknown query [{kind}]")
    if not isinstance(spec, dict):
        raise parsing_exception(f"[{kind}] query malformed, no start_object after query name")
    return parser(spec, mapping)


def _single_field(kind: str, spec: dict[str, Any]) -> tuple[str, Any]:
    fields = [key for key in spec if key not in ("boost", "_name")]
    if len(fields) > 1:
        raise parsing_exception(
            f"[{kind}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    if not fields:
        raise illegal_argument("field name is null or empty")
    return fields[0], spec[fields[0]]


def _match_all(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    return lambda doc_id, source: True


def _term(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field, value = _single_field("term", spec)
    if isinstance(value, dict):
        value = value.get("value")
    if value is None:
        raise illegal_argument("value cannot be null")
    if isinstance(value, (dict, list)):
        raise parsing_exception("[term] query does not support array of values")
    return lambda doc_id, source: any(_term_hit(field, stored, value, mapping) for stored in values_at(source, field))


def _term_hit(field: str, stored: Any, wanted: Any, mapping: FieldMapping) -> bool:
    if mapping.is_text(field, stored):
        return str(wanted) in analyze(stored)
    return same_value(stored, wanted)


def _terms(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field, wanted = _single_field("terms", spec)
    if not isinstance(wanted, list):
        raise parsing_exception(f"[terms] query does not support [{field}]")

    def matches(doc_id: str, source: Source) -> bool:
        stored_values = values_at(source, field)
        return any(_term_hit(field, stored, value, mapping) for stored in stored_values for value in wanted)

    return matches


def _ids(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    for key in spec:
        if key not in ("values", "boost", "_name"):
            raise parsing_exception(f"[ids] query does not support [{key}]")
    values = spec.get("values", [])
    if not isinstance(values, list):
        raise parsing_exception("[ids] query does not support [values]")
    wanted = {str(value) for value in values}
    return lambda doc_id, source: doc_id in wanted


def _match(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field, value = _single_field("match", spec)
    operator = "or"
    if isinstance(value, dict):
        if "query" not in value:
            raise illegal_argument("No text specified for text query")
        operator = str(value.get("operator", "or")).lower()
        if operator not in ("or", "and"):
            raise illegal_argument(f"No enum constant org.opensearch.index.query.Operator.{operator.upper()}")
        value = value["query"]
    if value is None or isinstance(value, (dict, list)):
        raise parsing_exception(f"[match] unknown token [{token_name(value)}] after [query]")

    def matches(doc_id: str, source: Source) -> bool:
        for stored in values_at(source, field):
            if not mapping.is_text(field, stored):
                if same_value(stored, value):
                    return True
                continue
            words, wanted = set(analyze(stored)), analyze(str(value))
            if wanted and (all if operator == "and" else any)(word in words for word in wanted):
                return True
        return False

    return matches


def _exists(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field = spec.get("field")
    if not isinstance(field, str) or not field:
        raise illegal_argument("[exists] must be provided with a [field]")
    return lambda doc_id, source: bool(values_at(source, field))


def _range(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field, bounds = _single_field("range", spec)
    if not isinstance(bounds, dict):
        raise parsing_exception("[range] query malformed, after field missing start_object")
    checks = [(RANGE_OPERATORS[op], bound) for op, bound in bounds.items()
              if op in RANGE_OPERATORS and bound is not None]

    def within(stored: Any) -> bool:
        for check, bound in checks:
            try:
                left, right = (float(stored), float(bound)) if not isinstance(stored, str) else (stored, str(bound))
            except (TypeError, ValueError):
                return False
            if not check(left, right):
                return False
        return True

    return lambda doc_id, source: any(within(stored) for stored in values_at(source, field))


def _bool(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    clauses: dict[str, list[Matcher]] = {"must": [], "filter": [], "should": [], "must_not": []}
    minimum: Any = None
    for key, value in spec.items():
        if key in clauses:
            items = value if isinstance(value, list) else [value]
            clauses[key] = [compile_query(item, mapping) for item in items]
        elif key == "minimum_should_match":
            minimum = value
        elif key not in ("boost", "_name", "adjust_pure_negative"):
            raise parsing_exception(f"[bool] query does not support [{key}]")
    required_should = _minimum_should_match(minimum, len(clauses["should"]),
                                            default=0 if clauses["must"] or clauses["filter"] else 1)

    def matches(doc_id: str, source: Source) -> bool:
        if not all(m(doc_id, source) for m in clauses["must"] + clauses["filter"]):
            return False
        if any(m(doc_id, source) for m in clauses["must_not"]):
            return False
        return sum(m(doc_id, source) for m in clauses["should"]) >= required_should

    return matches


def _minimum_should_match(value: Any, should_count: int, default: int) -> int:
    if should_count == 0:
        return 0
    if value is None:
        return default
    text = str(value).strip()
    try:
        if text.endswith("%"):
            number = int(should_count * int(text[:-1]) / 100)
        else:
            number = int(text)
    except ValueError:
        raise MlError(400, "number_format_exception", f'For input string: "{text}"') from None
    return should_count + number if number < 0 else min(number, should_count)


QUERY_PARSERS: dict[str, Callable[[dict[str, Any], FieldMapping], Matcher]] = {
    "match_all": _match_all, "term": _term, "terms": _terms, "ids": _ids, "match": _match,
    "bool": _bool, "exists": _exists, "range": _range,
}


# -- the request -------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    matcher: Matcher
    size: int
    start: int
    sort: list[tuple[str, bool]]
    includes: list[str] | None
    excludes: list[str]
    fetch_source: bool
    track_total_hits: int | None
    versions: bool


def parse_request(
    body: Mapping[str, Any] | None, mapping: FieldMapping = DYNAMIC, size: int | None = None, start: int | None = None,
    versions: bool = False,
) -> SearchRequest:
    """A search body (plus `size`/`from` from the query string) checked as OpenSearch checks it."""
    body = body or {}
    for key, value in body.items():
        known = key in ("query", "size", "from", "sort", "_source", "track_total_hits", "seq_no_primary_term",
                        "version") or key in IGNORED_KEYS
        if not known:
            raise parsing_exception(f"Unknown key for a {token_name(value)} in [{key}].")
    matcher = compile_query(body["query"], mapping) if "query" in body else _match_all({}, mapping)
    size = _int_key(body, "size", size if size is not None else DEFAULT_SIZE)
    start = _int_key(body, "from", start if start is not None else 0)
    if size < 0:
        raise illegal_argument(f"[size] parameter cannot be negative, found [{size}]")
    if start < 0:
        raise illegal_argument(f"[from] parameter cannot be negative, found [{start}]")
    if start + size > MAX_RESULT_WINDOW:
        raise illegal_argument(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was "
            f"[{start + size}]. See the scroll api for a more efficient way to request large data sets. This limit "
            "can be set by changing the [index.max_result_window] index level setting."
        )
    fetch, includes, excludes = _source_filter(body.get("_source", True))
    wants_versions = versions or bool(body.get("version")) or bool(body.get("seq_no_primary_term"))
    return SearchRequest(matcher, size, start, _sort(body.get("sort")), includes, excludes, fetch,
                         _track_total_hits(body.get("track_total_hits", True)), wants_versions)


def _int_key(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise parsing_exception(f"[{key}] query malformed, expected a number but found [{token_name(value)}]")
    try:
        return int(value)
    except ValueError:
        raise MlError(400, "number_format_exception", f'For input string: "{value}"') from None


def _sort(spec: Any) -> list[tuple[str, bool]]:
    """`sort` as [(field, descending)]: "f", {"f": "desc"}, {"f": {"order": "desc"}} or a list of them."""
    if spec is None:
        return []
    result = []
    for item in spec if isinstance(spec, list) else [spec]:
        if isinstance(item, str):
            result.append((item, item == "_score"))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise parsing_exception("[sort] malformed, expected a field name or a single-field object")
        field, order = next(iter(item.items()))
        if isinstance(order, dict):
            order = order.get("order", "desc" if field == "_score" else "asc")
        if str(order).lower() not in ("asc", "desc"):
            raise illegal_argument(f"Unknown SortOrder [{order}]")
        result.append((field, str(order).lower() == "desc"))
    return result


def _source_filter(spec: Any) -> tuple[bool, list[str] | None, list[str]]:
    if isinstance(spec, bool):
        return spec, None, []
    if isinstance(spec, str):
        return True, [spec], []
    if isinstance(spec, list):
        return True, [str(item) for item in spec], []
    if isinstance(spec, dict):
        includes, excludes = spec.get("includes", spec.get("include")), spec.get("excludes", spec.get("exclude", []))
        as_list = (lambda v: [v] if isinstance(v, str) else [str(item) for item in v or []])
        return True, (as_list(includes) or None) if includes is not None else None, as_list(excludes)
    raise parsing_exception(f"Expected one of [VALUE_BOOLEAN, START_OBJECT] but found [{token_name(spec)}]")


def _track_total_hits(value: Any) -> int | None:
    """How far hits are counted exactly (None: no limit)."""
    if value is True:
        return DEFAULT_TRACK_TOTAL_HITS
    if value is False:
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise illegal_argument(f"[track_total_hits] must be a boolean or an integer, found [{value}]") from None
    return None if number == -1 else number


# -- running it --------------------------------------------------------------------------


def run_search(
    index: DocumentIndex,
    request: SearchRequest,
    visible: Callable[[Source], bool] | None = None,
    present: Callable[[Source], Source] | None = None,
) -> dict[str, Any]:
    """OpenSearch's search response. `visible` drops documents the caller may not see (hidden
    models); `present` rewrites a source before it is shown (credentials stripped)."""
    hits = [(doc_id, stored) for doc_id, stored in index.docs.items()
            if (visible is None or visible(stored.source)) and request.matcher(doc_id, stored.source)]
    sort = [(field, desc) for field, desc in request.sort if field != "_score"]
    for field, descending in reversed(sort):
        hits.sort(key=lambda hit: _sort_key(hit, field, descending), reverse=descending)
    page = hits[request.start: request.start + request.size]
    scored = not sort
    total = len(hits)
    limit = request.track_total_hits
    return {
        "took": 0,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": total if limit is None else min(total, limit),
                      "relation": "eq" if limit is None or total <= limit else "gte"},
            "max_score": 1.0 if scored and page else None,
            "hits": [_hit(index.name, doc_id, stored, request, scored, sort, present) for doc_id, stored in page],
        },
    }


def _sort_key(hit: tuple[str, Any], field: str, descending: bool) -> tuple[int, Any]:
    doc_id, stored = hit
    values = [doc_id] if field == "_id" else values_at(stored.source, field)
    if not values:
        return (0, 0) if descending else (2, 0)  # missing values sort last either way
    value = max(values, key=_comparable) if descending else min(values, key=_comparable)
    return (1, _comparable(value))


def _comparable(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def _hit(index: str, doc_id: str, stored: Any, request: SearchRequest, scored: bool,
         sort: list[tuple[str, bool]], present: Callable[[Source], Source] | None) -> dict[str, Any]:
    hit: dict[str, Any] = {"_index": index, "_id": doc_id}
    if request.versions:
        hit.update({"_version": stored.version, "_seq_no": stored.seq_no, "_primary_term": PRIMARY_TERM})
    hit["_score"] = 1.0 if scored else None
    if request.fetch_source:
        source = present(copy.deepcopy(stored.source)) if present else copy.deepcopy(stored.source)
        hit["_source"] = filter_source(source, request.includes, request.excludes)
    if sort:
        hit["sort"] = [_sort_value(doc_id, stored.source, field, descending) for field, descending in sort]
    return hit


def _sort_value(doc_id: str, source: Source, field: str, descending: bool) -> Any:
    values = [doc_id] if field == "_id" else values_at(source, field)
    if not values:
        return None
    return max(values, key=_comparable) if descending else min(values, key=_comparable)


def filter_source(source: Source, includes: list[str] | None, excludes: list[str]) -> Source:
    """`_source` includes/excludes with wildcards, on dotted paths."""

    def any_match(path: str, patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)

    def deeper(path: str) -> bool:
        return includes is not None and any(p.startswith(path + ".") or p.startswith("*") for p in includes)

    def walk(node: dict[str, Any], prefix: str, selected: bool) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in node.items():
            path = prefix + key
            if any_match(path, excludes):
                continue
            now = selected or includes is None or any_match(path, includes)
            if isinstance(value, dict) and (now or deeper(path)):
                inner = walk(value, path + ".", now)
                if now or inner:
                    kept[key] = inner
            elif now:
                kept[key] = value
        return kept

    return walk(source, "", False)
