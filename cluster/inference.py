"""Serving `_infer`: find a deployment that can answer, then answer deterministically.

A PyTorch model answers only through a deployment with a started (or still draining)
route; analytics models answer in place, as Elasticsearch loads them on the coordinating
node. The name may be a deployment id, a model id or a model alias.
"""

from __future__ import annotations

from typing import Any

from .assignment import Assignment
from .errors import MlError, not_found, status_error
from .inference_results import analytics_result, nlp_result
from .models import TrainedModel
from .state import ClusterState

SERVING_ROUTE_STATES = ("started", "stopping")
#: Which of a model's deployments answers, as Elasticsearch picks (it shuffles within a state).
PICK_ORDER = ("started", "starting", "stopping")


def serving_deployment(state: ClusterState, name: str) -> Assignment:
    """The deployment that answers for `name`, or ES's 404/409: a stopping deployment
    refuses, and one with neither a started nor a stopping route is not allocated."""
    assignment = state.assignments.get(name)
    if assignment is None:
        model_id = state.resolve_model_id(name)
        if model_id is None:
            raise not_found(f"Could not find trained model [{name}]")
        deployments = sorted(state.deployments_of(model_id), key=lambda a: PICK_ORDER.index(a.state))
        if not deployments:
            raise status_error(409, f"Trained model deployment [{model_id}] is not allocated to any nodes")
        assignment = deployments[0]
    if assignment.state == "stopping":
        raise status_error(409, f"Trained model [{assignment.deployment_id}] is [stopping]")
    if not _serves(assignment):
        raise not_allocated(assignment.deployment_id)
    return assignment


def not_allocated(deployment_id: str) -> MlError:
    return status_error(409, f"Trained model deployment [{deployment_id}] is not allocated to any nodes")


def _serves(assignment: Assignment) -> bool:
    return any(r.routing_state in SERVING_ROUTE_STATES for r in assignment.routes.values())


def infer(
    state: ClusterState, name: str, docs: list[dict[str, Any]], config_update: dict[str, Any] | None = None
) -> tuple[Assignment | None, list[dict[str, Any]]]:
    """The deployment that serves `name` (None for an analytics model, which answers in
    place) and one result per document; `config_update` is `{task_type: {setting: value}}`."""
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
    deployment = serving_deployment(state, name) if model.is_pytorch else None
    try:
        return deployment, _answer(model, settings, docs)
    except (ValueError, TypeError) as exc:
        raise status_error(400, f"Invalid inference config for model [{model_id}]: {exc}") from None


def _answer(model: TrainedModel, settings: dict[str, Any], docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not model.is_pytorch:
        return [analytics_result(model.task_type, settings, doc, model) for doc in docs]
    field = model.field_names[0] if model.field_names else "text_field"
    results = []
    for doc in docs:
        text = doc.get(field)
        if not isinstance(text, str):
            results.append({"warning": f"Input field [{field}] does not exist in the source document"})
        else:
            results.append(nlp_result(model.task_type, settings, text))
    return results
