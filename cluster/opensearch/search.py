"""Searching a `DocumentIndex`: a search body checked as OpenSearch checks it, and
OpenSearch's search response.

Queries are compiled by `query_dsl`. Supported besides: `size`, `from`, `sort` on fields,
`_source` filtering, `track_total_hits`, `seq_no_primary_term`, `version`. Aggregations,
highlighting and the other search features are accepted and not computed (the response has
no `aggregations`). Every hit scores 1.0 (no relevance model), so unsorted hits come back
in index order.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from cluster.errors import MlError, illegal_argument

from .documents import PRIMARY_TERM, DocumentIndex
from .query_dsl import DYNAMIC, FieldMapping, Matcher, Source, compile_query, values_at
from .xcontent import parsing_exception, token_name

DEFAULT_SIZE = 10
MAX_RESULT_WINDOW = 10_000
DEFAULT_TRACK_TOTAL_HITS = 10_000
#: Top-level keys of a search body this simulator reads; others OpenSearch knows are ignored.
IGNORED_KEYS = frozenset({"timeout", "terminate_after", "min_score", "explain", "stored_fields", "docvalue_fields",
                          "highlight", "aggs", "aggregations", "profile", "search_after", "stats", "collapse"})


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
    matcher = compile_query(body.get("query", {"match_all": {}}), mapping)
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
    index: DocumentIndex | Sequence[DocumentIndex],
    request: SearchRequest,
    visible: Callable[[Source], bool] | None = None,
    present: Callable[[Source], Source] | None = None,
) -> dict[str, Any]:
    """OpenSearch's search response over one index or several (one shard each; unsorted hits
    come index by index). `visible` drops documents the caller may not see (hidden models);
    `present` rewrites a source before it is shown (credentials stripped)."""
    indices = [index] if isinstance(index, DocumentIndex) else list(index)
    hits = [(searched.name, doc_id, stored) for searched in indices for doc_id, stored in searched.docs.items()
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
        "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": total if limit is None else min(total, limit),
                      "relation": "eq" if limit is None or total <= limit else "gte"},
            "max_score": 1.0 if scored and page else None,
            "hits": [_hit(name, doc_id, stored, request, scored, sort, present) for name, doc_id, stored in page],
        },
    }


def _sort_key(hit: tuple[str, str, Any], field: str, descending: bool) -> tuple[int, Any]:
    _, doc_id, stored = hit
    value = _sort_value(doc_id, stored.source, field, descending)
    if value is None:
        return (0, 0) if descending else (2, 0)  # missing values sort last either way
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
    """The value a hit sorts by on `field` (the least, or the greatest when descending);
    None when it has none."""
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
