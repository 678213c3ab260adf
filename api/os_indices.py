"""Users' own document indices (create, index, get, delete, search), for both dialects.

Guardrail stop words and anything else users keep beside ml-commons live here, in the same
`DocumentStore` as ml-commons' system indices. Index names follow OpenSearch's rules; the
`.plugins-ml*` system indices are ml-commons' alone and refuse direct access. Mappings are
accepted but not kept: every index maps dynamically (strings are text with a `.keyword`).
Writes run through an ingest pipeline (`?pipeline=`, else the index's
`index.default_pipeline`, `_none` for none), as Elasticsearch's ingest node does.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
from typing import Any

from aiohttp import web

from cluster.errors import MlError, illegal_argument
from cluster.ingest import IngestDoc
from cluster.opensearch.documents import PRIMARY_TERM, DocumentIndex, DocumentStore
from cluster.opensearch.ids import new_document_id
from cluster.opensearch.search import parse_request, run_search

from .body import read_body
from .context import cluster_of
from .os_bodies import ml_commons, search_body, write_status
from .params import Query
from .responses import render

routes = web.RouteTableDef()

SYSTEM_PREFIX = ".plugins-ml"
#: An index name segment; names starting with `_` are the REST API's own paths (no handler here).
INDEX = "/{index:[^_/][^/]*}"
WRITE_PARAMS = ("refresh", "timeout", "routing", "op_type", "wait_for_active_shards", "pipeline", "if_seq_no",
                "if_primary_term", "version", "version_type", "require_alias")
SEARCH_PARAMS = ("size", "from", "source", "source_content_type", "track_total_hits", "seq_no_primary_term",
                 "version", "timeout", "routing", "preference", "search_type", "request_cache", "allow_no_indices",
                 "ignore_unavailable", "expand_wildcards", "rest_total_hits_as_int", "typed_keys")
CREATE_INDEX_KEYS = ("settings", "mappings", "aliases")
INVALID_CHARACTERS = ("\\", "/", "*", "?", '"', "<", ">", "|", " ", ",")


def invalid_name(name: str, reason: str) -> MlError:
    return MlError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {reason}")


def check_index_name(name: str) -> None:
    """OpenSearch's index name rules, in the order it checks them."""
    if any(char in name for char in INVALID_CHARACTERS):
        raise invalid_name(name, "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
    if "#" in name:
        raise invalid_name(name, "must not contain '#'")
    if ":" in name:
        raise invalid_name(name, "must not contain ':'")
    if name.startswith(("_", "-", "+")):
        raise invalid_name(name, "must not start with '_', '-', or '+'")
    if name != name.lower():
        raise invalid_name(name, "must be lowercase")
    if name in (".", ".."):
        raise invalid_name(name, "must not be '.' or '..'")
    if len(name.encode("utf-8", "surrogatepass")) > 255:
        raise invalid_name(name, f"index name is too long, ({len(name.encode('utf-8', 'surrogatepass'))} > 255)")


def refuse_system_index(name: str) -> None:
    if name.startswith(SYSTEM_PREFIX):
        raise illegal_argument(f"Indices [{name}] use and access is reserved for system operations")


def index_uuid(name: str) -> str:
    """A stable stand-in for the index UUID OpenSearch prints beside a name."""
    return base64.urlsafe_b64encode(hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()[:16]).decode().rstrip("=")


def existing_index(store: DocumentStore, name: str) -> DocumentIndex:
    refuse_system_index(name)
    index = store.index_named(name)
    if index is None:
        raise MlError(404, "index_not_found_exception", f"no such index [{name}]")
    return index


def writable_index(store: DocumentStore, name: str) -> DocumentIndex:
    """The index a document write goes to, created on first write as OpenSearch auto-creates it."""
    check_writable_name(name)
    index = store.index_named(name, create=True)
    assert index is not None
    return index


def check_writable_name(name: str) -> None:
    refuse_system_index(name)
    check_index_name(name)


def pipeline_for(store: DocumentStore, index_name: str, requested: str | None) -> str | None:
    """The pipeline a write to `index_name` runs: the request's, else the index's default."""
    if requested is None:
        index = store.index_named(index_name)
        requested = index.default_pipeline if index is not None else None
    return None if requested in (None, "_none") else requested


async def run_pipeline(request: web.Request, pipeline_id: str, sources: list[dict[str, Any]]) -> list[IngestDoc]:
    """The documents as the pipeline leaves them (an unknown pipeline fails the request)."""
    ingest = cluster_of(request).ingest
    return await ingest.run(ingest.pipeline(pipeline_id), sources, pipeline_id)


async def ingested_source(request: web.Request, query: Query, index_name: str, source: dict[str, Any]) -> dict[str, Any]:
    """A single write's source after its pipeline (the pipeline's failure is the answer)."""
    check_writable_name(index_name)
    pipeline_id = pipeline_for(ml_commons(request).store, index_name, query.str("pipeline"))
    if pipeline_id is None:
        return source
    (doc,) = await run_pipeline(request, pipeline_id, [source])
    if doc.error is not None:
        raise doc.error
    return doc.source


def default_pipeline_setting(settings: dict[str, Any]) -> str | None:
    """`index.default_pipeline` from create-index settings, flat or nested, with or without
    the `index.` prefix (ES normalizes them all to the same key)."""
    nested = settings.get("index")
    if isinstance(nested, dict) and "default_pipeline" in nested:
        return str(nested["default_pipeline"])
    for key in ("index.default_pipeline", "default_pipeline"):
        if key in settings:
            return str(settings[key])
    return None


@routes.put(INDEX)
async def create_index(request: web.Request) -> web.Response:
    Query(request, ("wait_for_active_shards", "timeout", "master_timeout", "cluster_manager_timeout"))
    name = request.match_info["index"]
    refuse_system_index(name)
    check_index_name(name)
    body = await read_body(request, "create_index")
    for key, value in (body.data if body else {}).items():
        if key not in CREATE_INDEX_KEYS:
            raise MlError(400, "parse_exception", f"unknown key [{key}] for create index")
        if not isinstance(value, dict):
            raise MlError(400, "parse_exception", f"key [{key}] must be an object")
    store = ml_commons(request).store
    if store.index_named(name) is not None:
        raise MlError(400, "resource_already_exists_exception", f"index [{name}/{index_uuid(name)}] already exists")
    index = store.index_named(name, create=True)
    assert index is not None
    index.default_pipeline = default_pipeline_setting(body.data.get("settings", {}) if body else {})
    return render(request, {"acknowledged": True, "shards_acknowledged": True, "index": name})


@routes.put(INDEX + "/_settings")
async def put_index_settings(request: web.Request) -> web.Response:
    """Dynamic index settings; `index.default_pipeline` is the one the simulator keeps
    (others are accepted and not kept, like mappings)."""
    Query(request, ("preserve_existing", "reopen", "timeout", "master_timeout", "cluster_manager_timeout",
                    "allow_no_indices", "expand_wildcards", "flat_settings", "ignore_unavailable"))
    index = existing_index(ml_commons(request).store, request.match_info["index"])
    body = await read_body(request, "settings", required=True)
    assert body is not None
    settings = body.data.get("settings", body.data)
    if not isinstance(settings, dict):
        raise MlError(400, "parse_exception", "key [settings] must be an object")
    pipeline = default_pipeline_setting(settings)
    if pipeline is not None:
        index.default_pipeline = pipeline
    return render(request, {"acknowledged": True})


@routes.get(INDEX + "/_settings")
async def get_index_settings(request: web.Request) -> web.Response:
    Query(request, ("flat_settings", "include_defaults", "local", "master_timeout", "cluster_manager_timeout",
                    "allow_no_indices", "expand_wildcards", "ignore_unavailable"))
    index = existing_index(ml_commons(request).store, request.match_info["index"])
    settings = {"number_of_shards": "1", "number_of_replicas": "0", "provided_name": index.name,
                "uuid": index_uuid(index.name)}
    if index.default_pipeline is not None:
        settings["default_pipeline"] = index.default_pipeline
    return render(request, {index.name: {"settings": {"index": settings}}})


@routes.head(INDEX)
async def index_exists(request: web.Request) -> web.Response:
    """`HEAD /{index}`: 200 when the index exists, 404 when not; no body either way."""
    Query(request, ("allow_no_indices", "expand_wildcards", "flat_settings", "ignore_unavailable",
                    "include_defaults", "local"))
    name = request.match_info["index"]
    found = not name.startswith(SYSTEM_PREFIX) and ml_commons(request).store.index_named(name) is not None
    return web.Response(status=200 if found else 404)


@routes.put(INDEX + "/_doc/{doc_id}")
@routes.post(INDEX + "/_doc/{doc_id}")
async def index_document(request: web.Request) -> web.Response:
    query = Query(request, WRITE_PARAMS)
    source = await document_source(request)
    name = request.match_info["index"]
    doc_id = request.match_info["doc_id"]
    existing = ml_commons(request).store.index_named(name)
    if query.str("op_type") == "create" and existing is not None and existing.get(doc_id) is not None:
        raise version_conflict(doc_id, existing.docs[doc_id].version)
    source = await ingested_source(request, query, name, source)
    response = writable_index(ml_commons(request).store, name).index(doc_id, source)
    return render(request, response, write_status(response))


@routes.post(INDEX + "/_doc")
async def index_new_document(request: web.Request) -> web.Response:
    query = Query(request, WRITE_PARAMS)
    source = await document_source(request)
    ml = ml_commons(request)
    name = request.match_info["index"]
    source = await ingested_source(request, query, name, source)
    response = writable_index(ml.store, name).index(new_document_id(ml.rng), source)
    return render(request, response, write_status(response))


def version_conflict(doc_id: str, current: int) -> MlError:
    return MlError(409, "version_conflict_engine_exception",
                   f"[{doc_id}]: version conflict, document already exists (current version [{current}])")


async def document_source(request: web.Request) -> dict[str, Any]:
    body = await read_body(request, "document", required=True)
    assert body is not None
    return body.data


@routes.get(INDEX + "/_doc/{doc_id}")
async def get_document(request: web.Request) -> web.Response:
    Query(request, ("preference", "realtime", "refresh", "routing", "_source", "_source_includes",
                    "_source_excludes", "version", "version_type"))
    index = existing_index(ml_commons(request).store, request.match_info["index"])
    doc_id = request.match_info["doc_id"]
    stored = index.docs.get(doc_id)
    if stored is None:
        return render(request, {"_index": index.name, "_id": doc_id, "found": False}, 404)
    return render(request, {
        "_index": index.name, "_id": doc_id, "_version": stored.version, "_seq_no": stored.seq_no,
        "_primary_term": PRIMARY_TERM, "found": True, "_source": index.get(doc_id),
    })


@routes.delete(INDEX + "/_doc/{doc_id}")
async def delete_document(request: web.Request) -> web.Response:
    Query(request, WRITE_PARAMS)
    index = existing_index(ml_commons(request).store, request.match_info["index"])
    response = index.delete(request.match_info["doc_id"])
    return render(request, response, write_status(response))


def searched_indices(store: DocumentStore, expression: str, query: Query) -> list[DocumentIndex]:
    """The indices a search names: comma-separated names and wildcards, `_all` or none for
    every index. Wildcards and `_all` leave out ml-commons' system indices (as the security
    plugin's system index protection hides them), and may match nothing unless
    `allow_no_indices=false`; a missing name is `index_not_found_exception` unless
    `ignore_unavailable`; a system index named outright is refused as for any access."""
    ignore_unavailable = query.bool("ignore_unavailable", False)
    allow_no_indices = query.bool("allow_no_indices", True)
    users = [name for name in store.indices if not name.startswith(SYSTEM_PREFIX)]
    found: dict[str, DocumentIndex] = {}
    for part in expression.split(","):
        if part in ("_all", "*") or any(char in part for char in "*?"):
            matched = users if part == "_all" else [name for name in users if fnmatch.fnmatchcase(name, part)]
            if not matched and not allow_no_indices:
                raise MlError(404, "index_not_found_exception", f"no such index [{part}]")
            found.update((name, store.indices[name]) for name in matched)
            continue
        try:
            found[part] = existing_index(store, part)
        except MlError as error:
            if not (ignore_unavailable and error.status == 404):
                raise
    return [found[name] for name in sorted(found)]  # hits of equal score come in shard order


@routes.get("/_search")
@routes.post("/_search")
@routes.get(INDEX + "/_search")
@routes.post(INDEX + "/_search")
@routes.get("/_all/_search")
@routes.post("/_all/_search")
async def search_index(request: web.Request) -> web.Response:
    query = Query(request, SEARCH_PARAMS)
    indices = searched_indices(ml_commons(request).store, request.match_info.get("index", "_all"), query)
    body = await search_body(request, required=False)
    search = parse_request(body, size=query.int("size"), start=query.int("from"),
                           versions=query.bool("seq_no_primary_term") or query.bool("version"))
    return render(request, run_search(indices, search))
