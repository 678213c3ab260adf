"""Start and update refusals: Elasticsearch's status, type and reason, and no state change."""

import pytest

from cluster.errors import MlError
from cluster.requests import AdaptiveAllocations, StartRequest, UpdateRequest
from cluster.settings import ClusterSettings
from cluster.cluster import Cluster

from .conftest import MODEL_BYTES


def refusal(call) -> MlError:
    with pytest.raises(MlError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    "options, messages",
    [
        ({"number_of_allocations": 0}, ["[number_of_allocations] must be a positive integer"]),
        ({"threads_per_allocation": 0}, ["[threads_per_allocation] must be a positive integer"]),
        ({"threads_per_allocation": 3}, ["[threads_per_allocation] must be a power of 2 less than or equal to 32"]),
        ({"threads_per_allocation": 64}, ["[threads_per_allocation] must be a power of 2 less than or equal to 32"]),
        ({"queue_capacity": 0}, ["[queue_capacity] must be a positive integer"]),
        ({"queue_capacity": 100_001}, ["[queue_capacity] must be less than 100000"]),
        ({"timeout": 0}, ["[timeout] must be positive"]),
        (
            {"priority": "low", "number_of_allocations": 2, "threads_per_allocation": 2},
            ["[number_of_allocations] must be 1 when [priority] is low",
             "[threads_per_allocation] must be 1 when [priority] is low"],
        ),
        (
            {"number_of_allocations": 2, "adaptive_allocations": AdaptiveAllocations(enabled=True)},
            ["[number_of_allocations] cannot be set if adaptive allocations is enabled"],
        ),
        (
            {"adaptive_allocations": AdaptiveAllocations(True, -1, 0)},
            ["[min_number_of_allocations] must be a non-negative integer or null",
             "[max_number_of_allocations] must be a positive integer or null"],
        ),
        (
            {"adaptive_allocations": AdaptiveAllocations(True, 3, 2)},
            ["[min_number_of_allocations] must not be larger than [max_number_of_allocations]"],
        ),
    ],
)
def test_start_validation_lists_every_problem(cluster, two_nodes, options, messages):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", **options)))
    assert (error.status, error.error_type) == (400, "action_request_validation_exception")
    assert error.reason == "Validation Failed: " + "".join(f"{i}: {m};" for i, m in enumerate(messages, 1))
    assert cluster.state.assignments == {}


def test_adaptive_minimum_sets_the_default_allocations():
    assert StartRequest("m", adaptive_allocations=AdaptiveAllocations(True, 3, 5)).effective_allocations == 3
    assert StartRequest("m", adaptive_allocations=AdaptiveAllocations(True, 0, 5)).effective_allocations == 1


def test_model_checks(cluster, two_nodes):
    cluster.models.put("tree", {"model_type": "tree_ensemble", "inference_config": {"regression": {}},
                                "input": {"field_names": ["x"]}, "definition": {"trained_model": {}}})
    cluster.models.put("nodef", {"model_type": "pytorch", "inference_config": {"ner": {}},
                                 "input": {"field_names": ["text_field"]}})
    cluster.models.put("half", {"model_type": "pytorch", "inference_config": {"ner": {}},
                                "input": {"field_names": ["text_field"]}})
    cluster.models.put_definition_part("half", 0, 2, MODEL_BYTES)
    cases = {
        "missing": (404, "resource_not_found_exception", "Could not find trained model [missing]"),
        "tree": (400, "status_exception",
                 "model [tree] of type [tree_ensemble] cannot be deployed. Only PyTorch models can be deployed"),
        "nodef": (404, "resource_not_found_exception", "Could not find trained model definition [nodef]"),
        "half": (400, "status_exception",
                 "Model definition truncated. Unable to deserialize trained model definition [half]"),
    }
    for model_id, expected in cases.items():
        error = refusal(lambda: cluster.deployments.start(StartRequest(model_id)))
        assert (error.status, error.error_type, error.reason) == expected
    assert cluster.state.assignments == {}


def test_deployment_id_rules(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.add_pytorch_model("other", MODEL_BYTES)
    cluster.deployments.start(StartRequest("m", deployment_id="d1"))
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", deployment_id="d1")))
    assert (error.status, error.reason) == (
        400, "Could not start model deployment because an existing deployment with the same id [d1] exist")
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", deployment_id="other")))
    assert error.status == 400 and error.reason.startswith("Deployment id [other] is the same as an another model")
    error = refusal(lambda: cluster.models.put("d1", {"inference_config": {"ner": {}}}))
    assert error.reason == "Cannot create model [d1] the id is the same as an current model deployment"


def test_the_hundred_deployment_limit(cluster):
    cluster.add_node("huge", memory_gb=4096, processors=128)
    cluster.add_pytorch_model("m", 1)
    for i in range(100):
        cluster.deployments.start(StartRequest("m", deployment_id=f"d{i}"))
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", deployment_id="d100")))
    assert (error.status, error.reason) == (
        429, "Could not start model deployment because existing deployments reached the limit of [100]")


def test_strict_start_refuses_what_cannot_be_placed_and_changes_nothing(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    seq = cluster.log.next_seq
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", number_of_allocations=9)))
    assert (error.status, error.reason) == (
        429, "Could not start deployment because there are not enough resources to provide all requested allocations")
    error = refusal(lambda: cluster.deployments.start(StartRequest("m", threads_per_allocation=8)))
    assert (error.status, error.reason) == (
        429, "Could not start deployment because no ML nodes with sufficient capacity were found")
    assert cluster.state.assignments == {} and cluster.log.next_seq == seq


def test_a_cluster_that_can_scale_accepts_and_waits():
    cluster = Cluster(ClusterSettings(max_lazy_ml_nodes=3))
    cluster.add_node("small", processors=2)
    cluster.add_pytorch_model("m", MODEL_BYTES)
    assignment = cluster.start_deployment("m", number_of_allocations=4)
    status = assignment.allocation_status()
    assert (status.allocation_count, status.state) == (2, "started")
    assert assignment.reason.startswith("Could not assign (more) allocations")
    cluster.add_node("more", processors=2)
    assert cluster.run_until(cluster.fully_allocated("m"), timeout=60)


def test_update_refusals(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    error = refusal(lambda: cluster.deployments.update(UpdateRequest("nope", number_of_allocations=2)))
    assert (error.status, error.error_type, error.reason) == (
        404, "resource_not_found_exception", "No known model deployment with id [nope]")
    cluster.deployments.start(StartRequest("m", number_of_allocations=1))
    error = refusal(lambda: cluster.deployments.update(UpdateRequest("m", number_of_allocations=2)))
    assert (error.status, error.reason) == (409, "cannot update deployment that is not in [started] state")
    # A no-op update answers before the started check.
    assert cluster.deployments.update(UpdateRequest("m", number_of_allocations=1)).params.number_of_allocations == 1
    cluster.advance(10)
    error = refusal(lambda: cluster.deployments.update(UpdateRequest("m", number_of_allocations=9)))
    assert (error.status, error.reason) == (
        429, "Could not update deployment because there are not enough resources to provide all requested allocations")
    assert cluster.assignment("m").params.number_of_allocations == 1
    error = refusal(lambda: cluster.deployments.update(UpdateRequest("m")))
    assert error.error_type == "action_request_validation_exception"


def test_update_merges_adaptive_settings_and_null_resets_them(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m")
    cluster.deployments.update(UpdateRequest(
        "m", adaptive_allocations=AdaptiveAllocations(True, 1, 4),
        adaptive_fields=frozenset({"enabled", "min_number_of_allocations", "max_number_of_allocations"})))
    cluster.deployments.update(UpdateRequest(
        "m", adaptive_allocations=AdaptiveAllocations(max_number_of_allocations=8),
        adaptive_fields=frozenset({"max_number_of_allocations"})))
    assert cluster.assignment("m").adaptive_allocations == {
        "enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 8}
    cluster.deployments.update(UpdateRequest("m", reset_adaptive=True))
    assert cluster.assignment("m").adaptive_allocations is None
