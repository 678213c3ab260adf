"""The query DSL subset ml-commons users send, compiled to predicates over documents.

Supported: `match_all`, `term`, `terms`, `ids`, `match`, `bool` (must/filter/should/must_not,
minimum_should_match), `exists`, `range`, `nested` (on the paths the index maps as nested).
Any other query type is OpenSearch's 400 `parsing_exception` "unknown query [x]". `_id`
is a field too (`term`, `terms`, `match`, `exists`, `range` on it see the document's id).

Field semantics follow the index mapping: a text field is analysed (lowercased words), so
`term` must name one of its words and `match` any (or, with `operator: and`, all) of them;
`<field>.keyword` and every other field compare whole values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cluster.errors import MlError, illegal_argument

from .xcontent import parsing_exception, token_name

Source = dict[str, Any]
Matcher = Callable[[str, Source], bool]

RANGE_OPERATORS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
                   "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


@dataclass(frozen=True)
class FieldMapping:
    """Which fields are analysed text. `None` means dynamic mapping: every string is text
    (with a `.keyword` sub-field), as in an index created without mappings."""

    text_fields: frozenset[str] | None
    #: Object paths mapped as `nested` (ml-commons maps `owner` so in the group and connector indices).
    nested_paths: frozenset[str] = frozenset()

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


def field_values(doc_id: str, source: Mapping[str, Any], path: str) -> list[Any]:
    """`values_at`, where `_id` is the document's id (its metadata field)."""
    return [doc_id] if path == "_id" else values_at(source, path)


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
    return lambda doc_id, source: any(_term_hit(field, stored, value, mapping)
                                      for stored in field_values(doc_id, source, field))


def _term_hit(field: str, stored: Any, wanted: Any, mapping: FieldMapping) -> bool:
    if mapping.is_text(field, stored):
        return str(wanted) in analyze(stored)
    return same_value(stored, wanted)


def _terms(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    field, wanted = _single_field("terms", spec)
    if not isinstance(wanted, list):
        raise parsing_exception(f"[terms] query does not support [{field}]")

    def matches(doc_id: str, source: Source) -> bool:
        stored_values = field_values(doc_id, source, field)
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
        for stored in field_values(doc_id, source, field):
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
    return lambda doc_id, source: bool(field_values(doc_id, source, field))


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

    return lambda doc_id, source: any(within(stored) for stored in field_values(doc_id, source, field))


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


NESTED_KEYS = ("path", "query", "score_mode", "ignore_unmapped", "inner_hits", "boost", "_name")


def _nested(spec: dict[str, Any], mapping: FieldMapping) -> Matcher:
    """Matches when one object at `path` matches the inner query on its own (inner field
    names are full paths, as in OpenSearch)."""
    for key in spec:
        if key not in NESTED_KEYS:
            raise parsing_exception(f"[nested] query does not support [{key}]")
    path, inner = spec.get("path"), spec.get("query")
    if inner is None:
        raise parsing_exception("[nested] requires 'query' field")
    if not isinstance(path, str):
        raise parsing_exception("[nested] requires 'path' field")
    if path not in mapping.nested_paths:
        if spec.get("ignore_unmapped") is True:
            return lambda doc_id, source: False
        raise MlError(400, "query_shard_exception", f"[nested] failed to find nested object under path [{path}]")
    matcher = compile_query(inner, mapping)

    def matches(doc_id: str, source: Source) -> bool:
        for item in values_at(source, path):
            single: Any = item
            for part in reversed(path.split(".")):
                single = {part: single}
            if matcher(doc_id, single):
                return True
        return False

    return matches


QUERY_PARSERS: dict[str, Callable[[dict[str, Any], FieldMapping], Matcher]] = {
    "match_all": _match_all, "term": _term, "terms": _terms, "ids": _ids, "match": _match,
    "bool": _bool, "exists": _exists, "range": _range, "nested": _nested,
}
