"""Serving `_infer`: find a deployment that can answer, then answer deterministically.

A PyTorch model answers only through a deployment with a started (or still draining)
route; analytics models answer in place, as Elasticsearch loads them on the coordinating
node. The name may be a deployment id, a model id or a model alias.
"""

from __future__ import annotations

from typing import Any

from .assignment import Assignment
from .errors import not_found, status_error
from .inference_results import analytics_result, nlp_result
from .models import TrainedModel
from .state import ClusterState

SERVING_ROUTE_STATES = ("started", "stopping")


def serving_deployment(state: ClusterState, name: str) -> Assignment:
    """The deployment that answers for `name`, or ES's 404/409."""
    assignment = state.assignments.get(name)
    if assignment is None:
        model_id = state.resolve_model_id(name)
        if model_id is None:
            raise not_found(f"Could not find trained model [{name}]")
        deployments = state.deployments_of(model_id)
        serving = [a for a in deployments if _serves(a)]
        assignment = (serving or deployments or [None])[0]
        if assignment is None:
            raise status_error(409, f"Trained model deployment [{model_id}] is not allocated to any nodes")
    if not _serves(assignment):
        raise status_error(409, f"Trained model deployment [{assignment.deployment_id}] is not allocated to any nodes")
    return assignment


def _serves(assignment: Assignment) -> bool:
    return any(r.routing_state in SERVING_ROUTE_STATES for r in assignment.routes.values())


def infer(
    state: ClusterState, name: str, docs: list[dict[str, Any]], config_update: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One result per document; `config_update` is `{task_type: {setting: value}}`."""
    model_id = state.resolve_model_id(name)
    if model_id is None and name in state.assignments:
        model_id = state.assignments[name].model_id
    if model_id is None:
        raise not_found(f"Could not find trained model [{name}]")
    model = state.models[model_id]
    settings = dict(model.task_settings)
    update = config_update or {}
    if update:
        task, changes = next(iter(update.items()))
        if task != model.task_type:
            raise status_error(
                400,
                f"Trained model [{model_id}] is configured for task [{model.task_type}] but called with "
                f"task [{task}]",
            )
        settings.update(changes or {})
    if model.is_pytorch:
        serving_deployment(state, name)
    try:
        return _answer(model, settings, docs)
    except (ValueError, TypeError) as exc:
        raise status_error(400, f"Invalid inference config for model [{model_id}]: {exc}") from None


def _answer(model: TrainedModel, settings: dict[str, Any], docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not model.is_pytorch:
        return [analytics_result(model.task_type, settings, doc) for doc in docs]
    field = model.field_names[0] if model.field_names else "text_field"
    results = []
    for doc in docs:
        text = doc.get(field)
        if not isinstance(text, str):
            results.append({"warning": f"Input field [{field}] does not exist in the source document"})
        else:
            results.append(nlp_result(model.task_type, settings, text))
    return results
