"""The one middleware that makes every reply look like Elasticsearch's (or OpenSearch's).

It checks what RestController checks before a handler runs (body size, media type, the
method), turns `MlError`s into ES error bodies, the router's misses into ES's "no handler"
and "incorrect HTTP method" answers, anything unexpected into a 500 (a simulator bug), and
stamps the product header the official clients check for.
"""

from __future__ import annotations

import logging

from aiohttp import web

from cluster.errors import MlError

from .http_errors import error_body, no_handler_body, unexpected_error, wrong_method_body
from .request_body import ContentTooLarge, SimpleError, check_request
from .responses import compatible_version, render

log = logging.getLogger(__name__)


@web.middleware
async def es_dialect(request: web.Request, handler) -> web.StreamResponse:
    try:
        compatible_version(request)
        routed = request.match_info.http_exception is None
        if routed:
            check_request(request)
        elif request.method == "OPTIONS":
            return options_response(request.match_info.http_exception)
        elif request.method not in METHODS:
            raise unexpected_method(request.method, request.match_info.http_exception)
        response = await handler(request)
    except (ContentTooLarge, web.HTTPRequestEntityTooLarge):
        return too_large()
    except SimpleError as exc:
        response = render(request, {"error": exc.message, "status": exc.status}, exc.status, filtered=False)
    except MlError as exc:
        response = render(request, error_body(exc), exc.status, filtered=False)
    except web.HTTPMethodNotAllowed as exc:
        body = wrong_method_body(request.raw_path, request.method, exc.allowed_methods)
        response = render(request, body, 405, filtered=False)
        response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
    except web.HTTPNotFound:
        response = render(request, no_handler_body(request.raw_path, request.method), 400, filtered=False)
    except web.HTTPException as exc:
        error = MlError(exc.status, "status_exception", exc.reason)
        response = render(request, error_body(error), exc.status, filtered=False)
    except Exception as exc:  # a bug: answer like ES does for one, and keep the trace
        log.exception("unexpected error serving %s %s", request.method, request.raw_path)
        error = unexpected_error(exc)
        response = render(request, error_body(error), 500, filtered=False)
    if not is_opensearch_path(request.path) or asks_elasticsearch(request):
        response.headers["X-Elastic-Product"] = "Elasticsearch"
    return response


def asks_elasticsearch(request: web.Request) -> bool:
    """Paths both dialects serve (users' indices) answer as Elasticsearch to the official
    Elasticsearch clients, which ask for its vendored media type (`compatible-with`)."""
    try:
        return compatible_version(request) is not None
    except MlError:
        return False


#: The methods Elasticsearch's REST layer knows; any other is a 405 whatever the path.
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT"})


def unexpected_method(method: str, exc: web.HTTPException | None) -> SimpleError:
    """RestController's 405 for a method its REST layer has no name for."""
    message = f"Unexpected http method: {method}"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        message += f", allowed: [{', '.join(sorted(exc.allowed_methods))}]"
    return SimpleError(405, message)


def too_large() -> web.Response:
    """Elasticsearch's answer to a body over `http.max_content_length`: 413, no body, and the
    connection closed (the rest of the body is never read)."""
    response = web.Response(status=413, body=b"")
    response.force_close()
    return response


def options_response(exc: web.HTTPException | None) -> web.Response:
    """OPTIONS is answered by the REST layer: 200, empty, with the path's methods in `Allow`."""
    response = web.Response(status=200, body=b"", content_type="text/plain")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
    return response


#: First path segments the OpenSearch dialect serves (besides users' index names).
OPENSEARCH_ROOTS = ("_plugins", "_cluster")


def is_opensearch_path(path: str) -> bool:
    """ml-commons, `_cluster/settings` and users' document indices answer as OpenSearch (no
    Elastic product header); the root, Elasticsearch's `_` paths and unknown ones as ES."""
    segments = path.split("/", 3)
    first = segments[1] if len(segments) > 1 else ""
    if first == "_cluster" and len(segments) > 2 and segments[2] == "health":
        return False  # `_cluster/health` answers as Elasticsearch (its shape and product header)
    return first in OPENSEARCH_ROOTS or (first != "" and not first.startswith("_"))
