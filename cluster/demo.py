"""The seeds' world (`shared/seeds/000`–`003`) loaded into a cluster, for `mlsim serve --demo`.

Two regression models for the alias examples (same input fields, so reassigning the alias
gives no warning) and the NER model of the deployment-update example, started with one
allocation on the node whose id the example's routing table shows. That node has cores and
memory to spare, so scaling the deployment to 4 allocations keeps them all there.
"""

from __future__ import annotations

from typing import Any

from .cluster import Cluster
from .requests import StartRequest

FLIGHT_DELAY_MODELS = ("flight-delay-prediction-1574775339910", "flight-delay-prediction-1580004349800")
NER_MODEL = "elastic__distilbert-base-uncased-finetuned-conll03-english"
NER_MODEL_BYTES = 265_632_637
FIRST_NODE_ID = "uckeG3R8TLe2MMNBQ6AGrw"

FLIGHT_FIELDS = (
    "OriginAirportID",
    "DestAirportID",
    "DistanceKilometers",
    "FlightTimeMin",
    "Carrier",
    "dayOfWeek",
    "hour_of_day",
    "OriginWeather",
    "DestWeather",
)


def build_demo(cluster: Cluster) -> None:
    """Add the demo nodes and models and run the clock until the NER deployment is started.

    Moves the clock with `advance` (not `run_until`) so it works before a realtime server
    starts driving time.
    """
    cluster.add_node("ml-1", memory_gb=16, processors=8, node_id=FIRST_NODE_ID)
    for model_id in FLIGHT_DELAY_MODELS:
        cluster.models.put(model_id, _regression_config(model_id))
    cluster.add_pytorch_model(
        NER_MODEL, NER_MODEL_BYTES, task_type="ner", field_names=("text_field",)
    )
    request = StartRequest(NER_MODEL, number_of_allocations=1, threads_per_allocation=1, queue_capacity=1024)
    cluster.deployments.start(request)
    cluster.advance(cluster.settings.timing.load_seconds(NER_MODEL_BYTES))
    state = cluster.assignment(NER_MODEL).state
    if state != "started":
        raise RuntimeError(f"demo deployment [{NER_MODEL}] is [{state}] after loading, expected [started]")
    # Added after the start: Elasticsearch's planner would put a new one-allocation
    # deployment on the node with the least memory that fits (this one).
    cluster.add_node("ml-2", memory_gb=8, processors=4)


def _regression_config(model_id: str) -> dict[str, Any]:
    """A data-frame-analytics regression model: a two-leaf tree over the flight fields."""
    tree = {
        "feature_names": list(FLIGHT_FIELDS),
        "tree_structure": [
            {"node_index": 0, "split_feature": 2, "threshold": 1000.0, "decision_type": "lte",
             "default_left": True, "left_child": 1, "right_child": 2},
            {"node_index": 1, "leaf_value": 12.5},
            {"node_index": 2, "leaf_value": 31.0},
        ],
        "target_type": "regression",
    }
    return {
        "model_type": "tree_ensemble",
        "description": f"Flight delay regression from the Kibana sample data ({model_id})",
        "tags": ["flights", "regression"],
        "input": {"field_names": list(FLIGHT_FIELDS)},
        "inference_config": {"regression": {"results_field": "FlightDelayMin_prediction"}},
        "definition": {
            "trained_model": {
                "ensemble": {
                    "feature_names": list(FLIGHT_FIELDS),
                    "trained_models": [{"tree": tree}],
                    "aggregate_output": {"weighted_sum": {"weights": [1.0]}},
                    "target_type": "regression",
                }
            }
        },
    }
