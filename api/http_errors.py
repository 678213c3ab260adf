"""Elasticsearch's error bodies, and the errors that only the HTTP layer can raise.

Handlers raise `cluster.errors.MlError`; this module turns one into the JSON document and
status Elasticsearch would answer with, and builds the two routing errors that have their
own, flatter shape (no handler for a path, wrong method for a path).
"""

from __future__ import annotations

from typing import Any, Iterable

from cluster.errors import MlError

VERSION = "9.1.0"


def _cause(error: MlError) -> dict[str, Any]:
    body: dict[str, Any] = {"type": error.error_type, "reason": error.reason, **error.metadata}
    if error.cause is not None:
        body["caused_by"] = _cause(error.cause)
    return body


#: Exceptions that are plain Java ones in ES, not ElasticsearchExceptions.
_PLAIN_JAVA_TYPES = ("x_content_parse_exception", "illegal_argument_exception")


def error_body(error: MlError) -> dict[str, Any]:
    """ES's error document. Its root cause follows `caused_by` only from one
    ElasticsearchException to another, so a plain Java exception on top is its own root."""
    root = error
    while root.cause is not None and root.error_type not in _PLAIN_JAVA_TYPES and (
        root.cause.error_type not in _PLAIN_JAVA_TYPES
    ):
        root = root.cause
    root_cause = {"type": root.error_type, "reason": root.reason, **root.metadata}
    return {"error": {"root_cause": [root_cause], **_cause(error)}, "status": error.status}


def parse_error(reason: str) -> MlError:
    """A body that could not be read as the request's JSON object."""
    return MlError(400, "x_content_parse_exception", reason)


def no_handler_body(uri: str, method: str) -> dict[str, Any]:
    return {"error": f"no handler found for uri [{uri}] and method [{method}]"}


def wrong_method_body(uri: str, method: str, allowed: Iterable[str]) -> dict[str, Any]:
    return {
        "error": f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(sorted(allowed))}]",
        "status": 405,
    }


def unexpected_error(exc: BaseException) -> MlError:
    """An exception nothing anticipated: a bug in the simulator, shown the way ES shows one."""
    return MlError(500, "exception", f"{type(exc).__name__}: {exc}")


def warning_header(message: str) -> str:
    """The `Warning` header value ES sends for a deprecation or an advisory (RFC 7234 form)."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 Elasticsearch-{VERSION} "{escaped}"'
