"""OpenSearch's error kinds as ml-commons raises them (rendered by the REST layer like
Elasticsearch's: same `{"error": {...}, "status": N}` body)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster.errors import MlError, illegal_argument

if TYPE_CHECKING:
    from .settings import MlCommonsSettings

__all__ = ["MlError", "illegal_argument", "os_status", "parse_exception", "require_remote_inference"]

#: ml-commons' message, with its wrong setting key (the real one is `remote_inference.enabled`).
REMOTE_INFERENCE_DISABLED = (
    "Remote Inference is currently disabled. To enable it, update the setting "
    '"plugins.ml_commons.remote_inference_enabled" to true.'
)


def os_status(status: int, reason: str) -> MlError:
    """`OpenSearchStatusException`: ml-commons' usual refusal, with its own status."""
    return MlError(status, "status_exception", reason)


def parse_exception(reason: str) -> MlError:
    """`OpenSearchParseException` (400)."""
    return MlError(400, "parse_exception", reason)


def require_remote_inference(settings: MlCommonsSettings) -> None:
    """Refuse remote work while `remote_inference.enabled` is off: connector create/update,
    remote model register, deploy and predict all ask here, so they answer alike.

    Deviation: ml-commons throws `IllegalStateException`, which OpenSearch core would
    answer with a 500; mlsim keeps the type `illegal_state_exception` but answers 400, as
    the reference does (the caller's setting, not a server fault)."""
    if not settings.remote_inference_enabled:
        raise MlError(400, "illegal_state_exception", REMOTE_INFERENCE_DISABLED)
