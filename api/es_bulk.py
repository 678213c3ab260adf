"""`_bulk` and `/{index}/_bulk` (both dialects): many writes in one NDJSON request.

Writes go to the same document store as single-document writes (`api/os_indices.py`).
Documents bound for a pipeline go through it together, one batch per pipeline, before
any write is applied; then every action is applied in order and answered per item, so a
failed item (a pipeline failure, a bad index name, a missing document) fails alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cluster.errors import MlError, illegal_argument, validation_failed
from cluster.opensearch.ids import new_document_id

from .body import body_required
from .context import cluster_of
from .http_errors import error_body
from .os_bodies import ml_commons
from .os_indices import INDEX, check_writable_name, pipeline_for, run_pipeline, version_conflict, writable_index
from .params import Query
from .responses import render

routes = web.RouteTableDef()

ACTIONS = ("create", "delete", "index", "update")
BULK_PARAMS = ("pipeline", "refresh", "routing", "timeout", "wait_for_active_shards", "require_alias",
               "require_data_stream", "_source", "_source_includes", "_source_excludes", "list_executed_pipelines",
               "include_source_on_error")
META_KEYS = ("_index", "_id", "routing", "pipeline", "if_seq_no", "if_primary_term", "version", "version_type",
             "require_alias", "dynamic_templates", "retry_on_conflict", "op_type", "list_executed_pipelines",
             "_source", "require_data_stream")


@dataclass
class Operation:
    action: str
    index: str
    doc_id: str | None
    source: dict[str, Any] | None
    pipeline: str | None = None
    error: MlError | None = None


def parse_bulk(text: str, default_index: str | None, default_pipeline: str | None) -> list[Operation]:
    """The NDJSON body as operations; a malformed line fails the whole request, as in ES."""
    if not text.endswith("\n"):
        raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
    lines = text.split("\n")[:-1]
    operations: list[Operation] = []
    missing_index: list[str] = []
    i = 0
    while i < len(lines):
        line_number = i + 1
        raw = lines[i].strip()
        i += 1
        if not raw:
            continue
        action_line = _json(raw, line_number)
        if not isinstance(action_line, dict) or len(action_line) != 1:
            raise illegal_argument(f"Malformed action/metadata line [{line_number}], expected START_OBJECT or "
                                   f"END_OBJECT but found [{_token(action_line)}]")
        action, meta = next(iter(action_line.items()))
        if action not in ACTIONS:
            raise illegal_argument(f"Malformed action/metadata line [{line_number}], expected one of "
                                   f"[{', '.join(ACTIONS)}] but found [{action}]")
        if not isinstance(meta, dict):
            raise illegal_argument(f"Malformed action/metadata line [{line_number}], expected a simple value for "
                                   f"field [{action}] but found [START_ARRAY]")
        for key, value in meta.items():
            if key not in META_KEYS:
                raise illegal_argument(f"Action/metadata line [{line_number}] contains an unknown parameter [{key}]")
            if key in ("_index", "_id", "pipeline", "routing") and isinstance(value, (dict, list)):
                raise illegal_argument(f"Malformed action/metadata line [{line_number}], expected a simple value for "
                                       f"field [{key}] but found [{_token(value)}]")
        source = None
        if action != "delete":
            if i >= len(lines) or not lines[i].strip():
                raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
            source = _json(lines[i], i + 1)
            i += 1
            if not isinstance(source, dict):
                raise MlError(400, "parse_exception", f"Failed to parse source line [{i}]")
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        if index is None:
            missing_index.append("index is missing")
        if action in ("update", "delete") and doc_id is None:
            missing_index.append("id is missing")
        operations.append(Operation(action, str(index), None if doc_id is None else str(doc_id), source,
                                    meta.get("pipeline", default_pipeline)))
    if missing_index:
        raise validation_failed(missing_index)
    if not operations:
        raise validation_failed(["no requests added"])
    return operations


def _json(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise MlError(400, "x_content_parse_exception", f"[{number}:{exc.colno}] {exc.msg}") from None


def _token(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER"


async def _bulk(request: web.Request, default_index: str | None) -> web.Response:
    query = Query(request, BULK_PARAMS)
    text = (await request.read()).decode("utf-8", errors="replace")
    if not text.strip():
        raise body_required()
    operations = parse_bulk(text, default_index, query.str("pipeline"))
    cluster = cluster_of(request)
    started = cluster.clock.now
    ingest_took = await _run_pipelines(request, operations)
    items = [_apply(request, op) for op in operations]
    took = int((cluster.clock.now - started) * 1000)
    body: dict[str, Any] = {"errors": any("error" in next(iter(item.values())) for item in items), "took": took}
    if ingest_took is not None:
        body["ingest_took"] = ingest_took
    body["items"] = items
    return render(request, body)


async def _run_pipelines(request: web.Request, operations: list[Operation]) -> int | None:
    """Enrich index/create sources by pipeline, one batch per pipeline; the ingest time in
    ms (None when no pipeline ran)."""
    store = ml_commons(request).store
    batches: dict[str, list[Operation]] = {}
    for op in operations:
        if op.action not in ("index", "create"):
            continue
        try:
            check_writable_name(op.index)
        except MlError as exc:
            op.error = exc
            continue
        pipeline_id = pipeline_for(store, op.index, op.pipeline)
        if pipeline_id is not None:
            batches.setdefault(pipeline_id, []).append(op)
    if not batches:
        return None
    clock = cluster_of(request).clock
    started = clock.now
    for pipeline_id, ops in batches.items():
        try:
            results = await run_pipeline(request, pipeline_id, [op.source or {} for op in ops])
        except MlError as exc:
            for op in ops:
                op.error = exc
            continue
        for op, result in zip(ops, results):
            op.source, op.error = result.source, result.error
    return int((clock.now - started) * 1000)


def _apply(request: web.Request, op: Operation) -> dict[str, Any]:
    store = ml_commons(request).store
    try:
        if op.error is not None:
            raise op.error
        if op.action == "delete":
            check_writable_name(op.index)
            index = store.index_named(op.index)
            if index is None:
                raise MlError(404, "index_not_found_exception", f"no such index [{op.index}]")
            response = index.delete(str(op.doc_id))
        elif op.action == "update":
            response = _update(request, op)
        else:
            index = writable_index(store, op.index)
            doc_id = op.doc_id or new_document_id(ml_commons(request).rng)
            if op.action == "create" and index.get(doc_id) is not None:
                raise version_conflict(doc_id, index.docs[doc_id].version)
            response = index.index(doc_id, op.source or {})
    except MlError as exc:
        failure = {"_index": op.index, "_id": op.doc_id, "status": exc.status, "error": error_body(exc)["error"]}
        return {op.action: failure}
    status = {"created": 201, "not_found": 404}.get(response["result"], 200)
    return {op.action: {**response, "status": status}}


def _update(request: web.Request, op: Operation) -> dict[str, Any]:
    """A partial-document update (`doc`, with `doc_as_upsert` / `upsert` when missing)."""
    source = op.source or {}
    partial = source.get("doc")
    upsert = source.get("upsert")
    if partial is None and upsert is None:
        raise validation_failed(["script or doc is missing"])
    store = ml_commons(request).store
    index = store.index_named(op.index)
    doc_id = str(op.doc_id)
    if index is None or index.get(doc_id) is None:
        if source.get("doc_as_upsert") and isinstance(partial, dict):
            return writable_index(store, op.index).index(doc_id, partial)
        if isinstance(upsert, dict):
            return writable_index(store, op.index).index(doc_id, upsert)
        raise MlError(404, "document_missing_exception", f"[{doc_id}]: document missing")
    if not isinstance(partial, dict):
        raise validation_failed(["script or doc is missing"])
    return index.update(doc_id, partial)


@routes.post("/_bulk")
@routes.put("/_bulk")
async def bulk(request: web.Request) -> web.Response:
    return await _bulk(request, None)


@routes.post(INDEX + "/_bulk")
@routes.put(INDEX + "/_bulk")
async def bulk_index(request: web.Request) -> web.Response:
    return await _bulk(request, request.match_info["index"])
