"""Serving `_infer`: find a deployment that can answer, then answer deterministically.

A PyTorch model answers only through a deployment with a started (or still draining)
route; analytics models answer in place, as Elasticsearch loads them on the coordinating
node, and count what they answered (`local_stats`, ES's persisted inference stats of
boosted tree models). The name may be a deployment id, a model id or a model alias.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from .assignment import Assignment
from .errors import MlError, not_found, status_error
from .inference_results import analytics_result, language_result, nlp_result
from .models import LANG_IDENT, TrainedModel
from .state import ClusterState
from .tree_inference import dig, java_string

SERVING_ROUTE_STATES = ("started", "stopping")
#: Which of a model's deployments answers, as Elasticsearch picks (it shuffles within a state).
PICK_ORDER = ("started", "starting", "stopping")


#: ES's INFERENCE_WARNING_ALL_FIELDS_MISSING.
ALL_FIELDS_MISSING = "Model [{}] could not be inferred as all fields were missing"


@dataclass
class LocalStats:
    """One in-place model's counts (ES's InferenceStats of a model loaded on the node)."""

    failure_count: int = 0
    inference_count: int = 0
    #: Loads into the model cache: the first use loads it (the simulator never evicts).
    cache_miss_count: int = 0
    missing_all_fields_count: int = 0


class LocalInference:
    """Every in-place model's counts; `version` moves at each change (no event is logged)."""

    def __init__(self) -> None:
        self.models: dict[str, LocalStats] = {}
        self.version = 0

    def count(self, model_id: str, docs: int, missing: int, failed: int) -> None:
        stats = self.models.get(model_id)
        if stats is None:
            stats = self.models[model_id] = LocalStats(cache_miss_count=1)
        stats.inference_count += docs
        stats.missing_all_fields_count += missing
        stats.failure_count += failed
        self.version += 1


#: By `id` of the state (a dataclass compares by value, so it is no dict key); each entry
#: goes with its state.
_local: dict[int, LocalInference] = {}


def local_stats(state: ClusterState) -> LocalInference:
    """The in-place models' counts of the cluster whose state this is."""
    found = _local.get(id(state))
    if found is None:
        found = _local[id(state)] = LocalInference()
        weakref.finalize(state, _local.pop, id(state), None)
    return found


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
) -> tuple[Assignment | None, list[dict[str, Any] | MlError]]:
    """The deployment that serves `name` (None for an analytics model, which answers in
    place) and one result per document, or the error of a document the deployment cannot
    take; `config_update` is `{task_type: {setting: value}}`."""
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
        results = _answer(model, settings, docs)
    except (ValueError, TypeError) as exc:
        if deployment is None:
            local_stats(state).count(model_id, len(docs), 0, len(docs))
        raise status_error(400, f"Invalid inference config for model [{model_id}]: {exc}") from None
    if deployment is None:
        missing = sum(r.get("warning") == ALL_FIELDS_MISSING.format(model_id) for r in results)
        local_stats(state).count(model_id, len(docs), missing, 0)
    return deployment, results


def _answer(
    model: TrainedModel, settings: dict[str, Any], docs: list[dict[str, Any]]
) -> list[dict[str, Any] | MlError]:
    if not model.is_pytorch:
        return [_in_place(model, settings, doc) for doc in docs]
    field = model.field_names[0] if model.field_names else "text_field"
    return [_nlp_answer(model, settings, field, doc) for doc in docs]


def _nlp_answer(
    model: TrainedModel, settings: dict[str, Any], field: str, doc: dict[str, Any]
) -> dict[str, Any] | MlError:
    """One document's NLP result, or the 400 ES's deployment gives a document whose input
    field is absent or not text (NlpInferenceInput): per document, so ingest fails only that
    one, while `_infer` fails whole (ES fails the request on any document's error)."""
    text = dig(doc, field)
    if text is None:
        return status_error(400, f"Input field [{field}] does not exist in the source document")
    if not isinstance(text, str):
        return status_error(400, f"Input value [{java_string(text)}] for field [{field}] must be a string")
    return nlp_result(model.task_type, settings, text)


def _in_place(model: TrainedModel, settings: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """An analytics model's answer; a warning when none of its input fields is in the
    document (ES's LocalModel)."""
    if model.field_names and not any(_has_path(doc, name) for name in model.field_names):
        return {"warning": ALL_FIELDS_MISSING.format(model.model_id)}
    if model.model_type == LANG_IDENT:
        return language_result(settings, doc)
    return analytics_result(model.task_type, settings, doc, model)


def _has_path(doc: dict[str, Any], name: str) -> bool:
    """Whether `name` (a field or a dotted path) has a non-null value in the document."""
    if doc.get(name) is not None:
        return True
    node: Any = doc
    for part in name.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return True
