"""Errors as Elasticsearch reports them: an HTTP-style status, an exception type, a reason.

The cluster raises these; the REST layer only renders them, so Python callers see the same
status, `type` and `reason` a real cluster would answer with.
"""

from __future__ import annotations

from typing import Iterable


class MlError(Exception):
    """A refused request; nothing was changed."""

    def __init__(
        self,
        status: int,
        error_type: str,
        reason: str,
        cause: MlError | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.error_type = error_type
        self.reason = reason
        #: The wrapped error ES shows as `caused_by` (its innermost one is the `root_cause`).
        self.cause = cause
        #: Extra fields ES puts next to `type` and `reason` (a processor's `property_name`, …).
        self.metadata = metadata or {}

    def __repr__(self) -> str:
        return f"MlError({self.status}, {self.error_type!r}, {self.reason!r})"


def status_error(status: int, reason: str, cause: MlError | None = None) -> MlError:
    """Elasticsearch's ElasticsearchStatusException (bad request, conflict, too many requests)."""
    return MlError(status, "status_exception", reason, cause)


def not_found(reason: str) -> MlError:
    return MlError(404, "resource_not_found_exception", reason)


def illegal_argument(reason: str) -> MlError:
    return MlError(400, "illegal_argument_exception", reason)


def validation_failed(messages: Iterable[str]) -> MlError:
    """All validation messages at once, numbered as Elasticsearch joins them."""
    text = "".join(f"{i}: {message};" for i, message in enumerate(messages, start=1))
    return MlError(400, "action_request_validation_exception", f"Validation Failed: {text}")


class RequestValidation:
    """Collects validation messages so a request reports every problem in one answer."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.messages.append(message)

    def raise_if_failed(self) -> None:
        if self.messages:
            raise validation_failed(self.messages)
