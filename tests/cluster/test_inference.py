"""`cluster.inference.infer`: the deployment that serves a name is resolved once, with the answer."""

from __future__ import annotations

from cluster.inference import infer

from .conftest import MODEL_BYTES


def test_infer_returns_the_serving_deployment_with_the_results(cluster, two_nodes):
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.start_deployment("m", deployment_id="d-started", number_of_allocations=1)
    cluster.start_deployment("m", deployment_id="d-starting", number_of_allocations=1, wait_for="starting")
    for name in ("m", "d-started"):
        deployment, results = infer(cluster.state, name, [{"text_field": "a"}, {"text_field": "b"}])
        assert deployment is cluster.assignment("d-started") and len(results) == 2
    cluster.models.put("tree", {"model_type": "tree_ensemble", "inference_config": {"regression": {}},
                                "input": {"field_names": ["x"]}, "definition": {"trained_model": {}}})
    deployment, results = infer(cluster.state, "tree", [{"x": 1.0}])
    assert deployment is None and len(results) == 1  # analytics models answer in place
