"""Rendering a response body the way Elasticsearch does: media type, `pretty`, `filter_path`.

The official clients ask for `application/vnd.elasticsearch+json; compatible-with=N`; the
reply echoes that media type so the client's serializer and product check accept it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from aiohttp import web

from cluster.errors import MlError

from .filter_path import apply_filter_path
from .http_errors import warning_header

COMPATIBLE_VERSIONS = (8, 9)
_COMPAT = re.compile(r"compatible-with\s*=\s*(\d+)")
_SURROGATE = re.compile("[\ud800-\udfff]")


def compatible_version(request: web.Request) -> int | None:
    """The `compatible-with` version the client asked for (None for plain JSON)."""
    for header in ("Accept", "Content-Type"):
        value = request.headers.get(header, "")
        match = _COMPAT.search(value) if "compatible-with" in value else None
        if match:
            version = int(match.group(1))
            if version not in COMPATIBLE_VERSIONS:
                raise MlError(400, "media_type_header_exception", f"Invalid media-type value on headers [{header}]")
            return version
    return None


def content_type(request: web.Request) -> str:
    try:
        version = compatible_version(request)
    except MlError:
        version = None
    if version is None:
        return "application/json"
    return f"application/vnd.elasticsearch+json;compatible-with={version}"


#: Built once: `json.dumps` with these options builds an encoder per call.
_PRETTY = json.JSONEncoder(indent=2, separators=(",", " : "), ensure_ascii=False)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(request: web.Request, body: Any) -> str:
    if request.query.get("pretty") in ("", "true"):
        return _PRETTY.encode(body) + "\n"
    return _COMPACT.encode(body)


def utf8(text: str) -> bytes:
    """UTF-8 bytes of a reply. A lone UTF-16 surrogate (accepted in a request, as Jackson
    accepts one) cannot be encoded; it goes out as its `\\uXXXX` escape, as Jackson's UTF-8
    generator writes one, which is valid inside a JSON string."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def render(
    request: web.Request, body: Any, status: int = 200, warnings: Iterable[str] = (), filtered: bool = True
) -> web.Response:
    """A JSON reply; `filter_path` applies unless `filtered` is False (error bodies)."""
    if filtered:
        body = apply_filter_path(body, request.query.get("filter_path"))
    response = render_encoded(request, utf8(dumps(request, body)), status)
    for message in warnings:
        response.headers.add("Warning", warning_header(message))
    return response


def render_encoded(request: web.Request, body: bytes, status: int = 200) -> web.Response:
    """A reply of JSON already encoded."""
    response = web.Response(body=body, status=status)
    response.headers["Content-Type"] = content_type(request) + "; charset=UTF-8"
    return response


def render_text(request: web.Request, text: str, status: int = 200) -> web.Response:
    """A plain-text reply (the cat APIs' table form)."""
    response = web.Response(body=utf8(text), status=status)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def acknowledged(request: web.Request, warnings: Iterable[str] = ()) -> web.Response:
    return render(request, {"acknowledged": True}, warnings=warnings)
