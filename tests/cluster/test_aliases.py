"""The alias rules of the seeds, from Python (the REST tests check the same over HTTP)."""

import pytest

from cluster.errors import MlError

from .conftest import MODEL_BYTES


def regression(cluster, model_id, fields=("a", "b", "c", "d")):
    cluster.models.put(model_id, {"model_type": "tree_ensemble", "inference_config": {"regression": {}},
                                  "input": {"field_names": list(fields)}, "definition": {"trained_model": {}}})


def refusal(call) -> tuple[int, str, str]:
    with pytest.raises(MlError) as caught:
        call()
    return caught.value.status, caught.value.error_type, caught.value.reason


def test_create_and_reassign(cluster):
    regression(cluster, "flight-delay-prediction-1574775339910")
    regression(cluster, "flight-delay-prediction-1580004349800")
    assert cluster.models.put_alias("flight-delay-prediction-1574775339910", "flight_delay_model") == []
    assert cluster.models.get("flight_delay_model").model_id == "flight-delay-prediction-1574775339910"
    assert refusal(lambda: cluster.models.put_alias("flight-delay-prediction-1580004349800", "flight_delay_model")) == (
        400, "status_exception",
        "cannot assign model_alias [flight_delay_model] to model_id [flight-delay-prediction-1580004349800] as "
        "model_alias already refers to [flight-delay-prediction-1574775339910]. Set parameter [reassign] to [true] "
        "if model_alias should be reassigned.")
    cluster.models.put_alias("flight-delay-prediction-1580004349800", "flight_delay_model", reassign=True)
    assert cluster.state.aliases == {"flight_delay_model": "flight-delay-prediction-1580004349800"}


def test_reassign_false_refuses_even_for_the_same_model(cluster):
    regression(cluster, "m")
    cluster.models.put_alias("m", "alias")
    assert refusal(lambda: cluster.models.put_alias("m", "alias"))[0] == 400


def test_alias_name_rules(cluster):
    regression(cluster, "m")
    regression(cluster, "other")
    bad = "Invalid model_alias; '{}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; " \
          "must start with alphanumeric and cannot end with numbers"
    for alias in ("alias1", "Alias", "_alias", "al!as"):
        assert refusal(lambda: cluster.models.put_alias("m", alias)) == (
            400, "action_request_validation_exception", f"Validation Failed: 1: {bad.format(alias)};")
    assert refusal(lambda: cluster.models.put_alias("m", "m"))[2] == \
        "Validation Failed: 1: model_alias [m] cannot equal model_id [m];"
    assert refusal(lambda: cluster.models.put_alias("m", "other")) == (
        400, "status_exception", "model_alias cannot be the same as an existing trained model_id")
    assert refusal(lambda: cluster.models.put_alias("missing", "alias")) == (
        404, "resource_not_found_exception", "No known trained model with model_id [missing]")


def test_type_and_inference_config_mismatches(cluster):
    regression(cluster, "reg")
    cluster.models.put("cls", {"model_type": "tree_ensemble", "inference_config": {"classification": {}},
                               "input": {"field_names": ["a"]}, "definition": {"trained_model": {}}})
    cluster.add_pytorch_model("torch-reg", MODEL_BYTES, task_type="regression")
    cluster.models.put_alias("reg", "alias")
    assert refusal(lambda: cluster.models.put_alias("cls", "alias", reassign=True))[2] == (
        "cannot reassign model_alias [alias] to model [cls] with inference config type [classification] "
        "from model [reg] with type [regression]")
    assert refusal(lambda: cluster.models.put_alias("torch-reg", "alias", reassign=True))[2] == (
        "cannot reassign model_alias [alias] to model [torch-reg] with type [pytorch] "
        "from model [reg] with type [tree_ensemble]")


def test_deployed_to_undeployed_and_allocated_to_unallocated(cluster, two_nodes):
    for model_id in ("old", "new"):
        cluster.add_pytorch_model(model_id, MODEL_BYTES, task_type="ner")
    cluster.start_deployment("old")
    cluster.models.put_alias("old", "ner-alias")
    assert refusal(lambda: cluster.models.put_alias("new", "ner-alias", reassign=True))[2] == (
        "cannot reassign model_alias [ner-alias] to model [new] from model [old] as it is not yet deployed")
    cluster.start_deployment("new", wait_for="starting")
    assert refusal(lambda: cluster.models.put_alias("new", "ner-alias", reassign=True))[2] == (
        "cannot reassign model_alias [ner-alias] to model [new]  from model [old] as it is not yet allocated "
        "to any nodes")
    cluster.advance(10)
    assert cluster.models.put_alias("new", "ner-alias", reassign=True) == []


def test_warning_when_input_fields_differ_a_lot(cluster):
    regression(cluster, "a", fields=("f1", "f2", "f3", "f4"))
    regression(cluster, "b", fields=("f1", "f2", "f3", "x"))
    regression(cluster, "c", fields=("y1", "y2", "y3", "y4"))
    cluster.models.put_alias("a", "alias")
    assert cluster.models.put_alias("b", "alias", reassign=True) == []
    assert cluster.models.put_alias("c", "alias", reassign=True) == [
        "The input fields for new model [c] and for old model [b] differ significantly, model results may change "
        "drastically."]


def test_delete_alias_rules_and_pipeline_references(cluster, two_nodes):
    regression(cluster, "m")
    regression(cluster, "other")
    cluster.models.put_alias("m", "alias")
    assert refusal(lambda: cluster.models.delete_alias("m", "nope")) == (
        404, "resource_not_found_exception", "model_alias [nope] could not be found")
    assert refusal(lambda: cluster.models.delete_alias("other", "alias")) == (
        409, "status_exception", "model_alias [alias] does not refer to provided model_id [other]")
    cluster.models.put_pipeline("p", {"processors": [{"inference": {"model_id": "alias"}}]})
    assert refusal(lambda: cluster.models.delete_alias("m", "alias")) == (
        409, "status_exception", "Cannot delete model_alias [alias] as it is still referenced by ingest processors")
    cluster.models.delete_pipeline("p")
    cluster.models.delete_alias("m", "alias")
    assert cluster.state.aliases == {}


def test_stop_and_delete_refused_while_pipelines_reference_the_model(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m")
    cluster.models.put_alias("m", "live")
    cluster.models.put_pipeline("p", {"processors": [{"inference": {"model_id": "live"}}]})
    assert refusal(lambda: cluster.deployments.stop("m"))[:2] == (409, "status_exception")
    assert "has a model_alias [live] that is still referenced" in refusal(lambda: cluster.deployments.stop("m"))[2]
    assert refusal(lambda: cluster.models.delete("m"))[2] == (
        "Cannot delete model [m] as it has a model_alias [live] that is still referenced by ingest processors; "
        "use force to delete the model")
    cluster.models.delete_pipeline("p")
    assert refusal(lambda: cluster.models.delete("m"))[2] == (
        "Cannot delete model [m] as it is currently deployed; use force to delete the model")
    cluster.models.delete("m", force=True)
    assert "m" not in cluster.state.models and cluster.state.aliases == {}
    assert cluster.assignment("m").state == "stopping"
