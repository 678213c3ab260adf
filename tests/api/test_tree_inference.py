"""Tree and ensemble models answer `_infer` and the ingest inference processor by evaluating
their definition as Elasticsearch does; expected values are computed by hand here, or taken
from ES's own REST tests (inference_processor.yml, pipeline_inference.yml)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError

from cluster.definition_codec import compress

Doc = dict[str, Any]


def node(index: int, feature: int, threshold: float, left: int, right: int, **extra: Any) -> Doc:
    return {"node_index": index, "split_feature": feature, "threshold": threshold,
            "left_child": left, "right_child": right, **extra}


def leaf(index: int, value: Any, **extra: Any) -> Doc:
    return {"node_index": index, "leaf_value": value, **extra}


def stump(feature: str, threshold: float, low: Any, high: Any, **split: Any) -> Doc:
    """A one-split tree: `low` on the left (`feature` <= threshold by default), `high` on the right."""
    return {"feature_names": [feature],
            "tree_structure": [node(0, 0, threshold, 1, 2, **split), leaf(1, low), leaf(2, high)]}


async def put(es: AsyncElasticsearch, model_id: str, trained_model: Doc, fields: list[str], task: str = "regression",
              config: Doc | None = None, preprocessors: list[Doc] | None = None) -> None:
    definition: Doc = {"trained_model": trained_model}
    if preprocessors is not None:
        definition["preprocessors"] = preprocessors
    await es.ml.put_trained_model(model_id=model_id, input={"field_names": fields},
                                  inference_config={task: config or {}}, definition=definition)


async def infer(es: AsyncElasticsearch, model_id: str, *docs: Doc, **config: Any) -> list[Doc]:
    response = await es.ml.infer_trained_model(model_id=model_id, docs=list(docs), inference_config=config or None)
    return response["inference_results"]


async def test_a_one_leaf_tree_answers_its_leaf(es: AsyncElasticsearch) -> None:
    await put(es, "one-leaf", {"tree": {"feature_names": ["a"], "tree_structure": [leaf(0, 1.0)]}}, ["a"])
    assert await infer(es, "one-leaf", {"a": 5}) == [{"predicted_value": 1.0}]


async def test_splits_follow_decision_type_and_missing_values_follow_default_left(es: AsyncElasticsearch) -> None:
    for decision, at_threshold in (("lte", 10.0), ("lt", 20.0), ("gte", 10.0), ("gt", 20.0)):
        await put(es, f"split-{decision}", {"tree": stump("x", 5, 10.0, 20.0, decision_type=decision)}, ["x"])
        results = await infer(es, f"split-{decision}", {"x": 5}, {"x": 4}, {"x": 6})
        below = 10.0 if decision in ("lte", "lt") else 20.0
        assert [r["predicted_value"] for r in results] == [at_threshold, below, 30.0 - below], decision
    await put(es, "left-default", {"tree": stump("x", 5, 10.0, 20.0, default_left=True)}, ["x", "y"])
    await put(es, "right-default", {"tree": stump("x", 5, 10.0, 20.0)}, ["x", "y"])
    docs = ({"y": 1}, {"x": "7.5", "y": 1}, {"x": "banana", "y": 1}, {"x": True, "y": 1})
    assert [r["predicted_value"] for r in await infer(es, "left-default", *docs)] == [10.0, 20.0, 10.0, 10.0]
    assert [r["predicted_value"] for r in await infer(es, "right-default", *docs)] == [20.0, 20.0, 20.0, 20.0]


async def test_no_input_field_in_the_document_answers_the_missing_fields_warning(es: AsyncElasticsearch) -> None:
    await put(es, "needs-x", {"tree": stump("x", 5, 10.0, 20.0)}, ["x"])
    assert await infer(es, "needs-x", {"other": 1}) == [
        {"warning": "Model [needs-x] could not be inferred as all fields were missing"}
    ]
    # a feature the model's input does not list is not seen, even when the document has it
    await put(es, "lists-y", {"tree": stump("x", 5, 10.0, 20.0, default_left=True)}, ["y"])
    assert await infer(es, "lists-y", {"x": 100, "y": 0}) == [{"predicted_value": 10.0}]


async def test_nested_and_dotted_fields_are_both_found(es: AsyncElasticsearch) -> None:
    await put(es, "nested", {"tree": stump("a.b", 5, 10.0, 20.0)}, ["a.b"])
    results = await infer(es, "nested", {"a": {"b": 9}}, {"a.b": 1})
    assert [r["predicted_value"] for r in results] == [20.0, 10.0]


async def test_pipeline_inference_yml_model_with_one_hot_preprocessor(es: AsyncElasticsearch) -> None:
    """ES's pipeline_inference.yml model: an ensemble of one tree behind a one-hot encoder."""
    tree = {"feature_names": ["avg_cost", "type_tv", "type_vcr", "type_laptop"],
            "tree_structure": [node(0, 0, 38, 1, 2, split_gain=12, decision_type="lte", default_left=True),
                               leaf(1, 5.0), leaf(2, 2.0)],
            "target_type": "regression"}
    await put(es, "a-complex-regression-model",
              {"ensemble": {"feature_names": [], "target_type": "regression", "trained_models": [{"tree": tree}]}},
              ["avg_cost", "item"], config={"results_field": "regression-value"},
              preprocessors=[{"one_hot_encoding": {"field": "product_type",
                                                   "hot_map": {"TV": "type_tv", "VCR": "type_vcr",
                                                               "Laptop": "type_laptop"}}}])
    assert await infer(es, "a-complex-regression-model", {"avg_cost": 350.0}, {"avg_cost": 20}) == [
        {"regression-value": 2.0}, {"regression-value": 5.0}]
    assert await infer(es, "a-complex-regression-model", {"avg_cost": 350.0}, regression={"results_field": "value"}) \
        == [{"value": 2.0}]
    assert await infer(es, "a-complex-regression-model", {"cost": 350.0}) == [
        {"warning": "Model [a-complex-regression-model] could not be inferred as all fields were missing"}]


async def test_preprocessors_encode_the_document(es: AsyncElasticsearch) -> None:
    trees = [{"tree": stump("colour_mean", 0.5, 1.0, 2.0)},
             {"tree": stump("colour_freq", 0.25, 10.0, 20.0)},
             {"tree": stump("is_red", 0.5, 100.0, 200.0)},
             {"tree": stump("first_letter_is_s", 0.5, 1000.0, 2000.0)}]
    preprocessors = [
        {"target_mean_encoding": {"field": "colour", "feature_name": "colour_mean",
                                  "target_map": {"red": 0.9, "blue": 0.1}, "default_value": 0.7}},
        {"frequency_encoding": {"field": "colour", "feature_name": "colour_freq",
                                "frequency_map": {"red": 0.5, "blue": 0.2}}},
        {"one_hot_encoding": {"field": "colour", "hot_map": {"red": "is_red"}}},
        {"n_gram_encoding": {"field": "colour", "feature_prefix": "f", "n_grams": [1], "length": 3}},
        {"one_hot_encoding": {"field": "f.10", "hot_map": {"s": "first_letter_is_s"}}},
    ]
    await put(es, "encoded", {"ensemble": {"trained_models": trees}}, ["colour"], preprocessors=preprocessors)
    results = await infer(es, "encoded", {"colour": "red"}, {"colour": "blue"}, {"colour": "silver"})
    # red: mean .9 -> 2, freq .5 -> 20, is_red -> 200, 'r' -> 1000
    # blue: mean .1 -> 1, freq .2 -> 10, not red -> 100, 'b' -> 1000
    # silver: unseen -> default .7 -> 2, freq 0 -> 10, not red -> 100, 's' -> 2000
    assert [r["predicted_value"] for r in results] == [1222.0, 1111.0, 2112.0]


async def test_ensemble_aggregators_for_regression(es: AsyncElasticsearch) -> None:
    trees = [{"tree": stump("x", 5, 1.0, 2.0)}, {"tree": stump("x", 7, 3.0, 4.0)}]
    await put(es, "summed", {"ensemble": {"trained_models": trees,
                                          "aggregate_output": {"weighted_sum": {"weights": [0.5, 2.0]}}}}, ["x"])
    await put(es, "exponent", {"ensemble": {"trained_models": trees,
                                            "aggregate_output": {"exponent": {"weights": [1.0, -0.5]}}}}, ["x"])
    assert [r["predicted_value"] for r in await infer(es, "summed", {"x": 6}, {"x": 8})] == [7.0, 9.0]
    results = await infer(es, "exponent", {"x": 6})
    assert results[0]["predicted_value"] == pytest.approx(math.exp(2.0 - 1.5))


async def test_classification_tree_with_class_scores_per_leaf(es: AsyncElasticsearch) -> None:
    tree = {"feature_names": ["x"], "target_type": "classification", "classification_labels": ["cat", "dog", "eel"],
            "tree_structure": [node(0, 0, 5, 1, 2), leaf(1, [1.0, 2.0, 0.0]), leaf(2, [0.0, 0.0, 3.0])]}
    await put(es, "pets", {"tree": tree}, ["x"], task="classification",
              config={"num_top_classes": 2, "top_classes_results_field": "best"})
    exps = [math.exp(1.0), math.exp(2.0), math.exp(0.0)]
    p = [e / sum(exps) for e in exps]
    (result,) = await infer(es, "pets", {"x": 1})
    assert result["predicted_value"] == "dog"
    assert result["prediction_probability"] == pytest.approx(p[1]) and result["prediction_score"] == pytest.approx(p[1])
    assert [c["class_name"] for c in result["best"]] == ["dog", "cat"]
    assert [c["class_probability"] for c in result["best"]] == pytest.approx([p[1], p[0]])
    (all_classes,) = await infer(es, "pets", {"x": 9}, classification={"num_top_classes": -1,
                                                                        "prediction_field_type": "number"})
    assert all_classes["predicted_value"] == 2.0
    assert [c["class_name"] for c in all_classes["best"]] == [2.0, 0.0, 1.0]  # ties keep class order


async def test_classification_tree_with_class_index_leaves(es: AsyncElasticsearch) -> None:
    tree = {"feature_names": ["x"], "target_type": "classification",
            "tree_structure": [node(0, 0, 5, 1, 2), leaf(1, 0.0), leaf(2, 1.0)]}
    await put(es, "binary", {"tree": tree}, ["x"], task="classification")
    assert await infer(es, "binary", {"x": 9}) == [
        {"predicted_value": "1", "prediction_probability": 1.0, "prediction_score": 1.0}]
    (typed,) = await infer(es, "binary", {"x": 1}, classification={"prediction_field_type": "boolean"})
    assert typed["predicted_value"] is False


async def test_logistic_regression_ensemble_with_classification_weights(es: AsyncElasticsearch) -> None:
    trees = [{"tree": stump("x", 5, -1.0, 0.5)}, {"tree": stump("y", 5, 0.25, 1.0)}]
    await put(es, "logistic", {"ensemble": {
        "trained_models": trees, "target_type": "classification", "classification_labels": ["no", "yes"],
        "classification_weights": [2.0, 1.0], "aggregate_output": {"logistic_regression": {"weights": [1.0, 2.0]}},
    }}, ["x", "y"], task="classification", config={"num_top_classes": 2})
    (result,) = await infer(es, "logistic", {"x": 9, "y": 1})
    yes = 1 / (1 + math.exp(-(0.5 * 1.0 + 0.25 * 2.0)))  # sigmoid of the weighted sum, 0.731
    # scores weigh "no" twice: 2 * 0.269 = 0.538 < 0.731, so "yes" wins
    assert result["predicted_value"] == "yes"
    assert result["prediction_probability"] == pytest.approx(yes) and result["prediction_score"] == pytest.approx(yes)
    assert [(c["class_name"], c["class_score"]) for c in result["top_classes"]] == [
        ("yes", pytest.approx(yes)), ("no", pytest.approx(2 * (1 - yes)))]
    (flipped,) = await infer(es, "logistic", {"x": 1, "y": 1})
    no = 1 - 1 / (1 + math.exp(-(-1.0 + 0.5)))
    assert flipped["predicted_value"] == "no" and flipped["prediction_score"] == pytest.approx(2 * no)


async def test_weighted_mode_ensemble_votes(es: AsyncElasticsearch) -> None:
    trees = [{"tree": {**stump("x", 5, 0.0, 2.0), "target_type": "classification"}},
             {"tree": {**stump("x", 7, 2.0, 1.0), "target_type": "classification"}},
             {"tree": {**stump("x", 9, 1.0, 0.0), "target_type": "classification"}}]
    await put(es, "voters", {"ensemble": {
        "trained_models": trees, "target_type": "classification", "classification_labels": ["a", "b", "c"],
        "aggregate_output": {"weighted_mode": {"num_classes": 3, "weights": [1.0, 1.0, 3.0]}},
    }}, ["x"], task="classification")
    # x = 6 votes c (1), c (1), b (3): b has 3 against c's 2
    (result,) = await infer(es, "voters", {"x": 6})
    e = [0.0, math.exp(3.0), math.exp(2.0)]  # "a" got no vote: a zero probability
    assert result["predicted_value"] == "b"
    assert result["prediction_probability"] == pytest.approx(e[1] / sum(e))


async def test_feature_importance_is_tree_shap(es: AsyncElasticsearch) -> None:
    tree = {"feature_names": ["a", "b"], "tree_structure": [
        node(0, 0, 0.5, 1, 2, number_samples=10), node(1, 1, 0.5, 3, 4, number_samples=6),
        leaf(2, 3.0, number_samples=4), leaf(3, 1.0, number_samples=3), leaf(4, 2.0, number_samples=3)]}
    await put(es, "explained", {"tree": tree}, ["a", "b"])
    (result,) = await infer(es, "explained", {"a": 0, "b": 0}, regression={"num_top_feature_importance_values": 2})
    # Shapley values by hand: v() = 2.1, v(a) = 1.5, v(b) = 1.8, v(a, b) = 1
    assert result["predicted_value"] == 1.0
    assert [f["feature_name"] for f in result["feature_importance"]] == ["a", "b"]
    assert [f["importance"] for f in result["feature_importance"]] == pytest.approx([-0.7, -0.4])
    (one,) = await infer(es, "explained", {"a": 0, "b": 0}, regression={"num_top_feature_importance_values": 1})
    assert [f["feature_name"] for f in one["feature_importance"]] == ["a"]


async def test_a_compressed_definition_is_evaluated(es: AsyncElasticsearch) -> None:
    definition = {"trained_model": {"tree": stump("x", 5, 10.0, 20.0)}}
    await es.ml.put_trained_model(model_id="packed", input={"field_names": ["x"]},
                                  inference_config={"regression": {}}, compressed_definition=compress(definition))
    assert await infer(es, "packed", {"x": 6}) == [{"predicted_value": 20.0}]


async def test_ingest_simulate_inference_processor_yml(es: AsyncElasticsearch) -> None:
    """ES's inference_processor.yml: a one-leaf regression model through the ingest processor."""
    await put(es, "a-perfect-regression-model",
              {"tree": {"feature_names": ["field1", "field2"], "tree_structure": [leaf(0, 42)],
                        "target_type": "regression"}},
              ["field1", "field2"], config={"results_field": "my_regression"})
    simulated = await es.ingest.simulate(
        pipeline={"processors": [{"inference": {"model_id": "a-perfect-regression-model",
                                                "target_field": "regression_field", "field_map": {}}}]},
        docs=[{"_source": {"field1": 1, "field2": 2}}])
    assert simulated["docs"][0]["doc"]["_source"]["regression_field"]["my_regression"] == 42.0
    simulated = await es.ingest.simulate(
        pipeline={"processors": [{"inference": {"model_id": "a-perfect-regression-model",
                                                "inference_config": {"regression": {"results_field": "value"}},
                                                "target_field": "regression_field"}}]},
        docs=[{"_source": {"field1": 1, "field2": 2}}])
    assert simulated["docs"][0]["doc"]["_source"]["regression_field"]["value"] == 42.0


async def test_ingest_field_map_feeds_a_split(es: AsyncElasticsearch) -> None:
    await put(es, "mapped", {"tree": stump("x", 5, 10.0, 20.0)}, ["x"])
    simulated = await es.ingest.simulate(
        pipeline={"processors": [{"inference": {"model_id": "mapped", "field_map": {"reading.value": "x"}}}]},
        docs=[{"_source": {"reading": {"value": 3}}}, {"_source": {"reading": {"value": 8}}}])
    answers = [d["doc"]["_source"]["ml"]["inference"] for d in simulated["docs"]]
    assert [a["predicted_value"] for a in answers] == [10.0, 20.0]
    assert answers[0]["model_id"] == "mapped"


async def test_definitions_that_cannot_be_evaluated(es: AsyncElasticsearch) -> None:
    # ES's parser refuses a malformed preprocessor at PUT; mlsim refuses it at inference, with a 400
    await put(es, "bad-encoder", {"tree": stump("x", 5, 10.0, 20.0)}, ["x"],
              preprocessors=[{"one_hot_encoding": {"field": "x", "hot_map": ["not", "a", "map"]}}])
    with pytest.raises(BadRequestError) as refused:
        await infer(es, "bad-encoder", {"x": 1})
    assert refused.value.meta.status == 400
    assert "definition cannot be evaluated" in refused.value.body["error"]["reason"]
    # more classes than labels: ES's server error, worded as it words it
    tree = {"feature_names": ["x"], "target_type": "classification", "classification_labels": ["only"],
            "tree_structure": [node(0, 0, 5, 1, 2), leaf(1, [1.0, 2.0]), leaf(2, [2.0, 1.0])]}
    await put(es, "short-labels", {"tree": tree}, ["x"], task="classification")
    with pytest.raises(ApiError) as broken:
        await infer(es, "short-labels", {"x": 1})
    assert (broken.value.meta.status, broken.value.body["error"]["type"], broken.value.body["error"]["reason"]) == (
        500, "status_exception",
        "model returned classification probabilities of size [2] which is not equal to classification labels size [1]")


async def test_importance_of_encoded_features_is_reported_on_the_source_field(es: AsyncElasticsearch) -> None:
    tree = {"feature_names": ["is_tv", "price"], "tree_structure": [
        node(0, 0, 0.5, 1, 2, number_samples=10), leaf(1, 1.0, number_samples=5), leaf(2, 3.0, number_samples=5)]}
    await put(es, "tv-price", {"tree": tree}, ["product", "price"], config={"num_top_feature_importance_values": 5},
              preprocessors=[{"one_hot_encoding": {"field": "product", "hot_map": {"TV": "is_tv"}}}])
    (result,) = await infer(es, "tv-price", {"product": "TV", "price": 3})
    # f = 3, E[f] = 2: all of the difference is the product's, none the (unused) price's
    assert result["predicted_value"] == 3.0
    assert result["feature_importance"] == [{"feature_name": "product", "importance": pytest.approx(1.0)},
                                            {"feature_name": "price", "importance": 0.0}]


async def test_binary_classification_importance_has_both_classes(es: AsyncElasticsearch) -> None:
    trees = [{"tree": {"feature_names": ["x"], "tree_structure": [
        node(0, 0, 5, 1, 2, number_samples=4), leaf(1, -1.0, number_samples=2), leaf(2, 1.0, number_samples=2)]}}]
    await put(es, "binary-shap", {"ensemble": {
        "trained_models": trees, "target_type": "classification", "classification_labels": ["no", "yes"],
        "aggregate_output": {"logistic_regression": {}}}}, ["x"], task="classification",
        config={"num_top_feature_importance_values": 1})
    (result,) = await infer(es, "binary-shap", {"x": 9})
    # the leaf (1) is 1 above the mean (0): pulled towards "yes" by 1, away from "no" by 1
    assert result["feature_importance"] == [{"feature_name": "x", "classes": [
        {"class_name": "no", "importance": pytest.approx(-1.0)}, {"class_name": "yes", "importance": pytest.approx(1.0)}]}]
    assert result["predicted_value"] == "yes"
    assert result["prediction_probability"] == pytest.approx(1 / (1 + math.exp(-1.0)))


def _it_tree(features: list[str], samples: tuple[int, int, int], leaves: tuple[float, float]) -> Doc:
    return {"tree": {"feature_names": features, "target_type": "regression", "tree_structure": [
        node(0, 0, 10.0, 1, 2, split_gain=12.0, decision_type="lte", default_left=True, number_samples=samples[0]),
        leaf(1, leaves[0], number_samples=samples[1]), leaf(2, leaves[1], number_samples=samples[2])]}}


IT_PREPROCESSORS = [
    {"one_hot_encoding": {"field": "col1", "hot_map": {"male": "col1_male", "female": "col1_female"}}},
    {"target_mean_encoding": {"field": "col2", "feature_name": "col2_encoded",
                              "target_map": {"S": 5.0, "M": 10.0, "L": 20}, "default_value": 5.0}},
    {"frequency_encoding": {"field": "col3", "feature_name": "col3_encoded",
                            "frequency_map": {"none": 0.75, "true": 0.10, "false": 0.15}}},
]
IT_FEATURES = ["col1_male", "col1_female", "col2_encoded", "col3_encoded", "col4"]
IT_FIELDS = ["col1", "col2", "col3", "col4"]


async def test_es_inference_ingest_it_models_through_simulate(es: AsyncElasticsearch) -> None:
    """ES's InferenceIngestIT.testSimulate: its regression model and InferenceDefinitionTests'
    classification model (weighted_mode, `num_classes` given as a string) on one document."""
    regression = {"ensemble": {
        "feature_names": IT_FEATURES, "target_type": "regression",
        "aggregate_output": {"weighted_sum": {"weights": [0.5, 0.5]}},
        "trained_models": [_it_tree(["col1_male", "col1_female", "col4"], (300, 100, 200), (1, 2)),
                           _it_tree(["col2_encoded", "col3_encoded", "col4"], (150, 50, 100), (1, 2))]}}
    classification = {"ensemble": {
        "feature_names": IT_FEATURES, "target_type": "classification", "classification_labels": ["first", "second"],
        "aggregate_output": {"weighted_mode": {"num_classes": "2", "weights": [0.5, 0.5]}},
        "trained_models": [_it_tree(["col1_male", "col1_female", "col4"], (100, 80, 20), (1, 0)),
                           _it_tree(["col2_encoded", "col3_encoded", "col4"], (180, 10, 170), (1, 0))]}}
    await put(es, "test_regression_simulate", regression, IT_FIELDS, preprocessors=IT_PREPROCESSORS)
    await put(es, "test_classification_simulate", classification, IT_FIELDS, task="classification",
              preprocessors=IT_PREPROCESSORS)
    field_map = {name: name for name in IT_FIELDS}
    simulated = await es.ingest.simulate(pipeline={"processors": [
        {"inference": {"target_field": "ml.classification", "model_id": "test_classification_simulate",
                       "inference_config": {"classification": {"num_top_classes": 0,
                                                               "top_classes_results_field": "result_class_prob",
                                                               "num_top_feature_importance_values": 2}},
                       "field_map": field_map}},
        {"inference": {"target_field": "ml.regression", "model_id": "test_regression_simulate",
                       "inference_config": {"regression": {}}, "field_map": field_map}},
    ]}, docs=[{"_source": {"col1": "female", "col2": "M", "col3": "none", "col4": 10}}])
    ml = simulated["docs"][0]["doc"]["_source"]["ml"]
    assert ml["regression"] == {"predicted_value": 1.0, "model_id": "test_regression_simulate"}
    answer = ml["classification"]
    assert (answer["predicted_value"], answer["prediction_probability"], answer["prediction_score"]) == (
        "second", 1.0, 1.0)
    importance = {f["feature_name"]: {c["class_name"]: c["importance"] for c in f["classes"]}
                  for f in answer["feature_importance"]}
    assert list(importance) == ["col2", "col1"]  # ES: 0.944 and 0.19999
    assert importance["col2"] == {"first": pytest.approx(-17 / 18), "second": pytest.approx(17 / 18)}
    assert importance["col1"] == {"first": pytest.approx(-0.2), "second": pytest.approx(0.2)}
    assert str(importance["col2"]["second"]).startswith("0.944") and str(importance["col1"]["second"]).startswith(
        "0.19999")
