"""Elasticsearch's feature states (`GET /_features`, `POST /_features/_reset`) for the two
features whose state mlsim simulates.

A reset puts each feature back to a fresh install, as the test runners' cleanup between
tests expects:
- `machine_learning` removes every trained-model deployment from the routing tables at
  once, then every stored model with its definition, vocabulary and aliases; the built-in
  `lang_ident_model_1` is no stored model and stays. It refuses (and changes nothing) while
  an ingest pipeline holds an `inference` processor, whatever model it names.
- `inference_plugin` forgets the endpoints users created (their configs live in its index);
  the default endpoints are no stored configs and stay. Their deployments are the ML
  feature's to remove.
Ingest pipelines, nodes, settings and OpenSearch's ml-commons are not feature state.
"""

from __future__ import annotations

from dataclasses import dataclass

from .builtin_models import LANG_IDENT_ID
from .errors import MlError
from .events import EventLog
from .inference_endpoints import InferenceEndpoints
from .master import Master
from .model_service import ModelService
from .state import ClusterState, inference_processors

CAUSE = "reset features"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    description: str


#: In name order: the order the reset answers in (Elasticsearch sorts its statuses by
#: name; its feature list has no defined order, so the list uses the same one).
FEATURES = (
    Feature("inference_plugin", "Inference plugin for managing inference services and inference"),
    Feature("machine_learning", "Provides anomaly detection and forecasting functionality"),
)


def pipelines_in_the_way() -> MlError:
    return MlError(
        500,
        "runtime_exception",
        "Unable to reset machine learning feature as there are ingest pipelines still referencing trained "
        "machine learning models",
    )


def reset_inference(endpoints: InferenceEndpoints, log: EventLog) -> None:
    removed = endpoints.forget_created()
    log.append("feature_reset", CAUSE, feature="inference_plugin", inference_ids=removed)


def reset_machine_learning(state: ClusterState, master: Master, models: ModelService, log: EventLog) -> None:
    """Raises (500, nothing changed) while a pipeline has an inference processor."""
    if any(inference_processors(body) for body in state.pipelines.values()):
        raise pipelines_in_the_way()
    master.remove_all_assignments(CAUSE)
    for model_id in sorted(state.models):
        if model_id != LANG_IDENT_ID:
            models.delete(model_id, force=True, cause=CAUSE)
    log.append("feature_reset", CAUSE, feature="machine_learning")
