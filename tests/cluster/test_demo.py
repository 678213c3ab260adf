"""The demo world: the seeds' models, and the NER deployment the update example scales."""

import pytest

from cluster.cluster import Cluster
from cluster.demo import FIRST_NODE_ID, FLIGHT_DELAY_MODELS, NER_MODEL, NER_MODEL_BYTES, build_demo
from cluster.requests import UpdateRequest


@pytest.fixture(params=["virtual", "realtime", "experiment"])
def demo(request) -> Cluster:
    cluster = Cluster(clock=request.param)
    build_demo(cluster)
    return cluster


def test_the_ner_deployment_is_started_with_one_allocation_on_the_first_node(demo):
    assignment = demo.assignment(NER_MODEL)
    assert assignment.state == "started"
    p = assignment.params
    assert (p.model_bytes, p.number_of_allocations, p.threads_per_allocation, p.queue_capacity) == (
        NER_MODEL_BYTES, 1, 1, 1024,
    )
    assert {n: (r.current_allocations, r.routing_state) for n, r in assignment.routes.items()} == {
        FIRST_NODE_ID: (1, "started")
    }
    model = demo.state.models[NER_MODEL]
    assert model.task_type == "ner" and model.vocabulary_size and model.fully_defined


def test_flight_delay_models_are_regressions_over_the_same_fields(demo):
    first, second = (demo.state.models[m] for m in FLIGHT_DELAY_MODELS)
    assert first.model_type == second.model_type == "tree_ensemble"
    assert first.task_type == second.task_type == "regression"
    assert first.field_names == second.field_names
    assert {"OriginAirportID", "DestAirportID", "Carrier", "dayOfWeek"} <= set(first.field_names)


def test_seed_alias_examples_succeed_without_warnings(demo):
    assert demo.models.put_alias(FLIGHT_DELAY_MODELS[0], "flight_delay_model") == []
    assert demo.models.put_alias(FLIGHT_DELAY_MODELS[1], "flight_delay_model", reassign=True) == []
    assert demo.state.aliases == {"flight_delay_model": FLIGHT_DELAY_MODELS[1]}


@pytest.mark.parametrize("seed", range(5))
def test_update_to_four_allocations_stays_on_the_first_node(seed):
    cluster = Cluster(clock="virtual", seed=seed)
    build_demo(cluster)
    assignment = cluster.deployments.update(UpdateRequest(NER_MODEL, number_of_allocations=4))
    table = {n: (r.current_allocations, r.target_allocations, r.routing_state) for n, r in assignment.routes.items()}
    assert table == {FIRST_NODE_ID: (1, 4, "started")} and assignment.state == "started"
    assert cluster.run_until(cluster.fully_allocated(NER_MODEL), timeout=60)
    assert set(assignment.routes) == {FIRST_NODE_ID}
