"""OpenSearch's error kinds as ml-commons raises them (rendered by the REST layer like
Elasticsearch's: same `{"error": {...}, "status": N}` body).

Deviations: where ml-commons refuses a request with an exception that OpenSearch core
answers with a 500 (core maps only its own exception kinds to 4xx), mlsim keeps the
exception's `type` and `reason` but answers 400 (`caller_error`): in mlsim's terms a 500
caused by what the caller sent is a bug. These are:
- remote inference disabled (`IllegalStateException`, `require_remote_inference`);
- the controller API while `controller_enabled` is off (`IllegalStateException`);
- `POST /model_groups/_register` without `name` (`NullPointerException`);
- `POST /connectors/_create` with no body (`IOException`);
- `DELETE /tasks/{id}` of a RUNNING task (a plain `Exception`);
- `_predict/stream` while `stream_enabled` is off (`IllegalStateException`);
- `_batch_predict` while `offline_batch_inference_enabled` is off (`IllegalStateException`);
- `_register_meta` with no body (`IOException`); `upload_chunk` past `total_chunks`, empty or
  over 10 MB (plain `Exception`s), or to a model without `total_chunks` (`NullPointerException`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster.errors import MlError, illegal_argument

if TYPE_CHECKING:
    from .settings import MlCommonsSettings

__all__ = ["MlError", "caller_error", "illegal_argument", "os_status", "parse_exception", "require_batch_inference", "require_local_model",
           "refuse_streaming",
           "require_remote_inference"]

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


def caller_error(error_type: str, reason: str) -> MlError:
    """An ml-commons refusal that OpenSearch core would answer with a 500, answered 400 with
    the same `type` and `reason` (see the module's deviations)."""
    return MlError(400, error_type, reason)


def require_remote_inference(settings: MlCommonsSettings) -> None:
    """Refuse remote work while `remote_inference.enabled` is off: connector create/update,
    remote model register, deploy and predict all ask here, so they answer alike.

    ml-commons throws `IllegalStateException`, which OpenSearch core would answer with a
    500; mlsim answers 400, as the reference says (a deviation from core's mapping)."""
    if not settings.remote_inference_enabled:
        raise caller_error("illegal_state_exception", REMOTE_INFERENCE_DISABLED)


LOCAL_MODEL_DISABLED = (
    'Local Model is currently disabled. To enable it, update the setting "plugins.ml_commons.local_model.enabled" '
    "to true."
)


def require_local_model(settings: MlCommonsSettings) -> None:
    """Refuse register, deploy and predict of a local model while `local_model.enabled` is
    off (ml-commons answers 400 here)."""
    if not settings.local_model_enabled:
        raise os_status(400, LOCAL_MODEL_DISABLED)


STREAM_DISABLED = (
    'Streaming is currently disabled. To enable it, update the setting "plugins.ml_commons.stream_enabled" to true.'
)
#: mlsim's own refusal once streaming is on: ml-commons streams through OpenSearch's
#: experimental streaming HTTP transport and Arrow Flight, which are not simulated.
STREAM_NOT_SIMULATED = (
    "mlsim does not simulate streaming predict: ml-commons serves it through OpenSearch's streaming transport "
    "(transport-reactor-netty4 and Arrow Flight). Use POST /_plugins/_ml/models/{model_id}/_predict."
)


def refuse_streaming(settings: MlCommonsSettings) -> MlError:
    """`POST /models/{id}/_predict/stream`: ml-commons' refusal while `stream_enabled` is off
    (its `IllegalStateException`, answered 400 as the module says), else mlsim's."""
    if not settings.stream_enabled:
        return caller_error("illegal_state_exception", STREAM_DISABLED)
    return caller_error("illegal_state_exception", STREAM_NOT_SIMULATED)


BATCH_INFERENCE_DISABLED = (
    'Offline Batch Inference is currently disabled. To enable it, update the setting '
    '"plugins.ml_commons.offline_batch_inference_enabled" to true.'
)


def require_batch_inference(settings: MlCommonsSettings) -> None:
    """`_batch_predict` while `offline_batch_inference_enabled` is off (400, see the module)."""
    if not settings.offline_batch_inference_enabled:
        raise caller_error("illegal_state_exception", BATCH_INFERENCE_DISABLED)
