"""OpenSearch's error kinds as ml-commons raises them (rendered by the REST layer like
Elasticsearch's: same `{"error": {...}, "status": N}` body)."""

from __future__ import annotations

from cluster.errors import MlError, illegal_argument

__all__ = ["MlError", "illegal_argument", "os_status", "parse_exception"]


def os_status(status: int, reason: str) -> MlError:
    """`OpenSearchStatusException`: ml-commons' usual refusal, with its own status."""
    return MlError(status, "status_exception", reason)


def parse_exception(reason: str) -> MlError:
    """`OpenSearchParseException` (400)."""
    return MlError(400, "parse_exception", reason)
