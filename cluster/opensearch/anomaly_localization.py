"""`_execute/anomaly_localization`: ml-commons' `AnomalyLocalizerImpl` over a user index.

The time range is cut into buckets (`min_time_interval` wide at least, at most 8; with
`anomaly_start_time`, the buckets start there after one base bucket). Each bucket's
`overall_aggregate_value` is the aggregation over the documents whose time field lies in
the bucket (both ends included, as ml-commons' range query has them). The first bucket is
the base; a later bucket that differs from it by more than 1 % (or, with an anomaly start,
one ending after it) lists the entities (values of `attribute_field_names`) whose change
from the base has the sign of the overall change, the `num_outputs` largest contributions
first (smallest first when the bucket's value is not positive). Computed exactly (ml-commons
estimates base values with sketches). Aggregations: `sum`, `avg`, `min`, `max`, `value_count`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from cluster.errors import MlError, illegal_argument

from . import xcontent
from .documents import DocumentStore
from .query_dsl import compile_query, values_at

MIN_DIFF_PCT = 0.01
MAX_TIME_BUCKETS = 8
AGGREGATORS: dict[str, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "avg": lambda values: math.fsum(values) / len(values) if values else 0.0,
    "min": lambda values: min(values) if values else math.inf,
    "max": lambda values: max(values) if values else -math.inf,
    "value_count": lambda values: float(len(values)),
}


def _long(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise illegal_argument(f"{name} must be a number")
    return int(value)


def _aggregations(body: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(name, type, field) of each `aggregations[]` entry."""
    raw = body.get("aggregations")
    if not isinstance(raw, list) or not raw:
        raise illegal_argument("aggregations can not be empty")
    parsed = []
    for entry in raw:
        entry = xcontent.JsonFields.object(entry)
        for name, spec in entry.items():
            spec = xcontent.JsonFields.object(spec)
            if len(spec) != 1:
                raise illegal_argument(f"aggregation [{name}] needs exactly one type")
            kind, options = next(iter(spec.items()))
            if kind not in AGGREGATORS:
                raise illegal_argument(f"mlsim does not compute [{kind}] aggregations for anomaly localization")
            field = xcontent.JsonFields.object(options).get("field")
            if not isinstance(field, str):
                raise illegal_argument(f"[{kind}] aggregation [{name}] needs a field")
            parsed.append((name, kind, field))
    return parsed


def _buckets(start: int, end: int, interval: int, anomaly_start: int | None) -> list[tuple[int, int]]:
    """`getTimeBuckets`: the intervals, the base first."""
    if interval <= 0 or end - start < 2 * interval:
        raise illegal_argument("Time range is too short")
    if anomaly_start is not None:
        last = max(end, anomaly_start + interval)
        count = min((last - anomaly_start) // interval, MAX_TIME_BUCKETS - 1)
        width = (last - anomaly_start) // count
        first = min(start, anomaly_start - width)
        starts = [first] + [anomaly_start + i * width for i in range(count)]
    else:
        count = min((end - start) // interval, MAX_TIME_BUCKETS)
        width = (end - start) // count
        starts = [start + i * width for i in range(count)]
    return [(s, s + width) for s in starts]


def localize(store: DocumentStore, body: Mapping[str, Any]) -> dict[str, Any]:
    index_name = xcontent.text(body, "index_name")
    attributes = xcontent.string_list(body, "attribute_field_names") or []
    time_field = xcontent.text(body, "time_field_name")
    if not index_name or not attributes or not time_field:
        raise illegal_argument("index_name, attribute_field_names and time_field_name are required")
    index = store.index_named(index_name)
    if index is None or index_name.startswith("."):
        raise MlError(404, "index_not_found_exception", f"no such index [{index_name}]")
    anomaly_start = body.get("anomaly_start_time")
    buckets = _buckets(_long(body, "start_time"), _long(body, "end_time"), _long(body, "min_time_interval"),
                       None if anomaly_start is None else _long(body, "anomaly_start_time"))
    outputs = _long(body, "num_outputs")
    matcher = compile_query(body["filter_query"]) if body.get("filter_query") is not None else None
    docs = [source for doc_id, source in ((d, s.source) for d, s in index.docs.items())
            if matcher is None or matcher(doc_id, source)]
    results = []
    for name, kind, field in _aggregations(body):
        aggregate = AGGREGATORS[kind]
        per_bucket = [_in_bucket(docs, time_field, bucket) for bucket in buckets]
        overall = [aggregate(_values(group, field)) for group in per_bucket]
        entries: list[dict[str, Any]] = []
        for number, (bucket, group) in enumerate(zip(buckets, per_bucket)):
            entry: dict[str, Any] = {"start_time": bucket[0], "end_time": bucket[1],
                                     "overall_aggregate_value": overall[number]}
            if number and _changed(number, bucket, overall, anomaly_start):
                entry["entities"] = _entities(per_bucket[0], group, attributes, field, aggregate, overall[number],
                                              math.copysign(1.0, overall[number] - overall[0]), outputs)
            entries.append(entry)
        results.append({"name": name, "result": {"buckets": entries}})
    return {"results": results}


def _changed(number: int, bucket: tuple[int, int], overall: list[float], anomaly_start: Any) -> bool:
    if anomaly_start is not None:
        return bucket[1] > int(anomaly_start)
    base = overall[0]
    return base == 0 or abs(1.0 - overall[number] / base) > MIN_DIFF_PCT


def _in_bucket(docs: list[dict[str, Any]], time_field: str, bucket: tuple[int, int]) -> list[dict[str, Any]]:
    return [doc for doc in docs if any(isinstance(t, (int, float)) and bucket[0] <= t <= bucket[1]
                                       for t in values_at(doc, time_field))]


def _values(docs: list[dict[str, Any]], field: str) -> list[float]:
    return [float(v) for doc in docs for v in values_at(doc, field) if isinstance(v, (int, float))]


def _entities(base_docs: list[dict[str, Any]], docs: list[dict[str, Any]], attributes: list[str], field: str,
              aggregate: Callable[[list[float]], float], value: float, sign: float, outputs: int) -> list[dict]:
    def grouped(group: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
        keyed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for doc in group:
            key = tuple(str((values_at(doc, name) or [None])[0]) for name in attributes)
            keyed.setdefault(key, []).append(doc)
        return keyed

    base, new = grouped(base_docs), grouped(docs)
    entities = []
    for key in sorted(new):
        new_value = aggregate(_values(new[key], field))
        base_value = aggregate(_values(base.get(key, []), field)) if key in base else 0.0
        entities.append({"key": list(key), "contribution_value": new_value - base_value, "base_value": base_value,
                         "new_value": new_value})
    descending = value > 0
    entities.sort(key=lambda e: e["contribution_value"], reverse=descending)
    kept = entities[:outputs]
    return [e for e in kept if math.copysign(1.0, e["contribution_value"]) == sign and e["contribution_value"] != 0]
