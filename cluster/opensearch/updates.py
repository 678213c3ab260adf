"""ml-commons' update model API (`PUT /_plugins/_ml/models/{model_id}`).

The body is read the way ml-commons reads it (unknown fields skipped, `model_id` taken from
the URL, the same parse errors), checked in the order ml-commons checks it, and written as a
partial-document update of `.plugins-ml-model` (objects merge key by key, so a field the
body leaves out, or sets to null inside an object, keeps its stored value). A deployed
model is updated in place; when the change reaches what nodes cache (connector, enable
flag, guardrails, interface, a usable rate limiter) the model's caches are refreshed, so
the next predict sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .connectors import check_trusted_endpoints, parse_connector
from .documents import MODEL_INDEX
from .errors import MlError, os_status, parse_exception
from .model_fields import read_deploy_setting, read_guardrails, read_interface, read_model_config
from .model_states import DEPLOYED_STATES, DEPLOYING_STATES
from .rate_limiter import RateLimiter
from .xcontent import JsonFields

if TYPE_CHECKING:
    from .service import MlCommons

#: Algorithms whose models can be updated (and rate limited).
UPDATABLE_ALGORITHMS = ("TEXT_EMBEDDING", "REMOTE")


class ModelUpdates:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    def update(self, model_id: str, body: dict[str, Any] | None, text: str | None = None) -> dict[str, Any]:
        """Update a model; returns the index's write response.

        `body` None is a request without a body. `text`, the body as sent, only places the
        positions in parse errors (default: those of the compact JSON of `body`).
        """
        if body is None:
            raise parse_exception("Update model request has empty body")
        changes = parse_update(body, JsonFields(body, text))
        return self._apply(model_id, changes)

    def _apply(self, model_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        model = self.ml.store[MODEL_INDEX].get(model_id)
        if model is None:
            raise os_status(404, f"Failed to find model to update with the provided model id: {model_id}")
        state = model.get("model_state")
        if state in DEPLOYING_STATES:
            raise os_status(409, f"Model is deploying. Please wait for the model to complete deployment. model ID {model_id}")
        algorithm = model.get("algorithm")
        if "model_config" in changes:
            check_model_config(changes["model_config"], model.get("model_config"), algorithm)
        if algorithm not in UPDATABLE_ALGORITHMS:
            raise os_status(403, f"The function category {algorithm} is not supported at this time.")
        if model.get("is_hidden"):
            raise os_status(403, "User doesn't have privilege to perform this operation on this model")

        refresh_caches = state in DEPLOYED_STATES and changes_cached_state(changes, model)
        new_connector_id = changes.get("connector_id") or None
        if algorithm == "TEXT_EMBEDDING":
            if new_connector_id is not None or "connector" in changes:
                raise os_status(400, "Trying to update the connector or connector_id field on a local model.")
        elif new_connector_id is None:
            if "connector" in changes:
                changes["connector"] = self._updated_connector(model.get("connector"), changes["connector"])
        elif not model.get("connector_id"):
            raise os_status(400, "This remote does not have a connector_id field, maybe it uses an internal connector.")

        group_id = changes.get("model_group_id")
        if group_id and group_id != model.get("model_group_id"):
            changes["model_version"] = self._relink(group_id)

        partial = _partial_document(changes, self.ml.clock.millis())
        response = self.ml.store[MODEL_INDEX].update(model_id, partial)
        if refresh_caches and response["result"] == "updated":
            failed = self.ml.rate_limits.refresh(model_id)
            if failed:
                raise MlError(
                    500,
                    "runtime_exception",
                    f"Successfully update ML model index with model ID {model_id} but update model cache was failed "
                    f"on following nodes [{', '.join(failed)}], please retry or redeploy model manually.",
                )
        self.ml.log.append(
            "ml_model_updated", "update model", model_id=model_id, fields=sorted(partial), caches_refreshed=refresh_caches
        )
        return response

    def _updated_connector(self, current: Any, update: dict[str, Any]) -> dict[str, Any]:
        """The inline connector with the update's fields replaced (an empty map or list
        leaves the stored one), checked as an inline connector is."""
        if not isinstance(current, dict):
            raise os_status(
                400,
                "Cannot update connector settings for this model. The model was created with a connector_id and "
                "does not have an inline connector.",
            )
        replaced = {key: value for key, value in update.items() if value or not isinstance(value, (dict, list))}
        connector = self.ml.connectors.validate({**current, **replaced})
        check_trusted_endpoints(connector, self.ml.settings.trusted_connector_endpoints_regex)
        return connector

    def _relink(self, group_id: str) -> str:
        """Register the model as the next version of another group; returns that version."""
        if self.ml.groups.get(group_id) is None:
            raise os_status(
                404,
                "Failed to find the model group with the provided model group id in the update model input, "
                f"MODEL_GROUP_ID: {group_id}",
            )
        return str(self.ml.groups.bump_version(group_id))


def parse_update(body: dict[str, Any], fields: JsonFields) -> dict[str, Any]:
    """`MLUpdateModelInput.parse` plus the REST layer's check: the fields to change, typed."""
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("model_id", "name", "description", "model_group_id", "connector_id"):
            changes[key] = fields.text(value, key)
        elif key == "is_enabled":
            changes[key] = fields.boolean(value, key)
        elif key == "rate_limiter":
            changes[key] = RateLimiter.parse(value, fields, key)
        elif key == "model_config":
            changes[key] = read_model_config(value, fields)
        elif key == "deploy_setting":
            changes[key] = read_deploy_setting(value, fields)
        elif key == "connector":
            changes[key] = parse_connector(JsonFields.object(value))
        elif key == "guardrails":
            changes[key] = read_guardrails(value, fields)
        elif key == "interface":
            changes[key] = read_interface(value)
    changes.pop("model_id", None)  # only the URL names the model
    if "connector_id" in changes and "connector" in changes:
        raise os_status(
            400,
            "Model cannot have both stand-alone connector and internal connector. Please check your update input body.",
        )
    return changes


def changes_cached_state(changes: dict[str, Any], model: dict[str, Any]) -> bool:
    """Whether the update touches what ml-commons caches on the nodes (and so broadcasts a
    cache refresh): the connector, the enable flag (an update that leaves `is_enabled` out
    counts when the model has it set, as in ml-commons), guardrails, the interface, or a
    rate limiter change that leaves a usable limiter."""
    if (
        "connector" in changes
        or changes.get("connector_id")
        or changes.get("is_enabled") != model.get("is_enabled")
        or "guardrails" in changes
        or "interface" in changes
    ):
        return True
    current, update = RateLimiter.from_doc(model.get("rate_limiter")), changes.get("rate_limiter")
    if not RateLimiter.changes(current, update):
        return False
    return (current.merged(update) if current else update).valid


def check_model_config(update: dict[str, Any], current: Any, algorithm: str | None) -> None:
    """Text embedding models need a dimension and framework type (and remote ones a space
    type) in the new or the stored config."""
    if algorithm != "TEXT_EMBEDDING" and not (
        algorithm == "REMOTE" and str(update.get("model_type", "")).lower() == "text_embedding"
    ):
        return
    current = current if isinstance(current, dict) else {}
    remote = algorithm == "REMOTE"
    suffix = " must be provided for remote text embedding model" if remote else " is null"
    for key, label in (("embedding_dimension", "Embedding dimension"), ("framework_type", "Framework type")):
        if update.get(key) is None and current.get(key) is None:
            raise os_status(400, label + suffix)
    if remote and not any("space_type" in (config.get("additional_config") or {}) for config in (update, current)):
        raise os_status(400, "Space type must be provided in additional_config for remote text embedding model")


def _partial_document(changes: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The update's fields in the model document's form, plus `last_updated_time`."""
    partial: dict[str, Any] = {}
    for key in (
        "name", "description", "model_version", "model_group_id", "is_enabled", "rate_limiter", "model_config",
        "deploy_setting", "connector", "connector_id",
    ):
        if key in changes:
            value = changes[key]
            partial[key] = value.to_doc() if isinstance(value, RateLimiter) else value
    partial["last_updated_time"] = now_ms
    for key in ("guardrails", "interface"):
        if key in changes:
            partial[key] = changes[key]
    return partial
