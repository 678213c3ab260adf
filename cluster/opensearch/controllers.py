"""ml-commons user-level rate limits (the controller API).

A model's controller is one `.plugins-ml-controller` document, keyed by the model id, with a
`{"limit", "unit"}` limiter per user name. Creating one marks the model
`is_controller_enabled`; when the model is deployed, creating or changing the controller
deploys it to the worker nodes' caches (their user-level buckets start full again).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .documents import CONTROLLER_INDEX, MODEL_INDEX
from .errors import MlError, caller_error, os_status, parse_exception
from .rate_limiter import RateLimiter
from .xcontent import JsonFields
from .updates import UPDATABLE_ALGORITHMS

if TYPE_CHECKING:
    from .service import MlCommons

DISABLED = (
    'Controller is currently disabled. To enable it, update the setting "plugins.ml_commons.controller_enabled" to true.'
)
DEPLOYING_REFUSED = (
    "Creating a model controller during its corresponding model in DEPLOYING state is not allowed, please either "
    "create the model controller after it is deployed or before deploying it."
)
NOT_CREATED = (
    "Model controller haven't been created for the model. Consider calling create model controller api instead."
)


class Controllers:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    def create(self, model_id: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """`POST /controllers/{model_id}`: index the controller (replacing any); returns
        `{"model_id", "status": "CREATED"}` ("UPDATED" when it replaced one)."""
        self._check_enabled()
        if body is None:
            raise parse_exception("Create model controller request has empty body")
        limiters = parse_user_limiters(body)
        model = self._model(model_id)
        if model.get("model_state") == "DEPLOYING":
            raise os_status(409, _with_model_id(DEPLOYING_REFUSED, model_id, model))
        controller = {"model_id": model_id, "user_rate_limiter": {u: r.to_doc() for u, r in limiters.items()}}
        response = self.ml.store[CONTROLLER_INDEX].index(model_id, controller)
        if response["result"] == "created":
            self.ml.store[MODEL_INDEX].update(model_id, {"is_controller_enabled": True})
        self._refresh_caches(model_id)
        self.ml.log.append("ml_controller_created", "create model controller", model_id=model_id, users=sorted(limiters))
        return {"model_id": model_id, "status": response["result"].upper()}

    def update(self, model_id: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """`PUT /controllers/{model_id}`: merge user limiters into the existing controller
        (field by field, as a model's rate limiter merges); returns the write response."""
        self._check_enabled()
        if body is None:
            raise parse_exception("Update model controller request has empty body")
        limiters = parse_user_limiters(body)
        model = self._model(model_id)
        stored = self.ml.store[CONTROLLER_INDEX].get(model_id)
        if stored is None:
            if not model.get("is_controller_enabled"):
                raise os_status(409, _with_model_id(NOT_CREATED, model_id, model))
            raise os_status(404, "Failed to find model controller")
        current = {u: RateLimiter.from_doc(r) for u, r in (stored.get("user_rate_limiter") or {}).items()}
        redeploy = any(
            current[user].deploy_required(limiter) if user in current else limiter.valid
            for user, limiter in limiters.items()
        )
        for user, limiter in limiters.items():
            current[user] = current[user].merged(limiter) if user in current else limiter
        controller = {"model_id": model_id, "user_rate_limiter": {u: r.to_doc() for u, r in current.items()}}
        response = self.ml.store[CONTROLLER_INDEX].update(model_id, controller)
        if response["result"] == "updated" and redeploy:
            self._refresh_caches(model_id)
        self.ml.log.append("ml_controller_updated", "update model controller", model_id=model_id, users=sorted(limiters))
        return _forced_refresh(response) if response["result"] == "updated" else response

    def get(self, model_id: str) -> dict[str, Any]:
        """`GET /controllers/{model_id}`: `{"model_id", "user_rate_limiter"}`."""
        self._check_enabled()
        stored = self.ml.store[CONTROLLER_INDEX].get(model_id)
        if stored is None:
            raise os_status(404, "Failed to find model controller with the provided model ID")
        if self.ml.store[MODEL_INDEX].get(model_id) is None:
            raise os_status(404, "Failed to find model to get the corresponding model controller with the provided model ID")
        return {"model_id": model_id, "user_rate_limiter": stored.get("user_rate_limiter") or {}}

    def delete(self, model_id: str) -> dict[str, Any]:
        """`DELETE /controllers/{model_id}`: the delete response; works without the model too."""
        self._check_enabled()
        if not self.ml.store[CONTROLLER_INDEX].exists:
            raise MlError(404, "index_not_found_exception", f"no such index [{CONTROLLER_INDEX}]")
        if self.ml.store[CONTROLLER_INDEX].get(model_id) is None:
            raise os_status(404, "Failed to find model controller")
        response = self.ml.store[CONTROLLER_INDEX].delete(model_id)
        if self.ml.store[MODEL_INDEX].get(model_id) is not None:
            self.ml.store[MODEL_INDEX].update(model_id, {"is_controller_enabled": False})
        self._refresh_caches(model_id)
        self.ml.log.append("ml_controller_deleted", "delete model controller", model_id=model_id)
        return response

    def _check_enabled(self) -> None:
        if not self.ml.settings.controller_enabled:
            raise caller_error("illegal_state_exception", DISABLED)

    def _model(self, model_id: str) -> dict[str, Any]:
        """The model a create or update is for (ml-commons says "create" in both refusals)."""
        model = self.ml.store[MODEL_INDEX].get(model_id)
        if model is None:
            raise os_status(
                404, "Failed to find model to create the corresponding model controller with the provided model ID"
            )
        algorithm = model.get("algorithm")
        if algorithm not in UPDATABLE_ALGORITHMS:
            raise os_status(
                403, f"Creating model controller on this operation on the function category {algorithm} is not supported."
            )
        return model

    def _refresh_caches(self, model_id: str) -> None:
        """The worker nodes' caches take the controller as it now is (user buckets start full)."""
        if self.ml.workers.nodes(model_id):
            self.ml.rate_limits.refresh_users(model_id)


def parse_user_limiters(body: dict[str, Any]) -> dict[str, RateLimiter]:
    """`MLController.parse`: each user's limiter goes through JSON and back (so nulls inside
    it vanish), and an empty one is dropped; other fields (a `model_id` too) are ignored."""
    users = body.get("user_rate_limiter")
    limiters: dict[str, RateLimiter] = {}
    for user, value in (users if isinstance(users, dict) else {}).items():
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass  # refused below as a string where an object belongs
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
        limiter = RateLimiter.parse(value, JsonFields(value))
        if not limiter.empty:
            limiters[user] = limiter
    return limiters


def _forced_refresh(response: dict[str, Any]) -> dict[str, Any]:
    """ml-commons writes controllers with an immediate refresh, which an update response reports."""
    marked: dict[str, Any] = {}
    for key, value in response.items():
        marked[key] = value
        if key == "result":
            marked["forced_refresh"] = True
    return marked


def _with_model_id(message: str, model_id: str, model: dict[str, Any]) -> str:
    """ml-commons names the model in messages, unless the model is hidden."""
    return message if model.get("is_hidden") else f"{message} Model ID: {model_id}"
