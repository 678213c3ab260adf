"""Trained-model behaviour Elasticsearch's own REST tests check: the built-in model, the
definition and body validation, fields and defaults, cache clearing, stop with
allow_no_match, Elastic-provided downloads, wording and the cat columns."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, ConflictError, NotFoundError

from cluster.builtin_models import PACKAGES
from cluster.cluster import Cluster

from .test_es_client import error_of, put_pytorch_model
from .test_es_http import call

LEAF = {"node_index": 0, "leaf_value": 1}
SPLIT_TREE = [{"node_index": 0, "threshold": 2, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0}, {"node_index": 2, "leaf_value": 1}]


def tree(features: list[str], nodes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"tree": {"feature_names": features, "tree_structure": nodes, **extra}}


def ensemble(models: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"preprocessors": [], "trained_model": {"ensemble": {"trained_models": models, **extra}}}


def caused_by(exc: ApiError) -> list[str]:
    """The reasons down the `caused_by` chain, outermost first."""
    reasons, error = [], exc.body["error"]
    while error:
        reasons.append(error["reason"])
        error = error.get("caused_by")
    return reasons


@pytest.fixture
def world(cluster: Cluster) -> Cluster:
    cluster.add_node("ml-1", memory_gb=32, processors=16, node_id="node-a")
    return cluster


async def put_regression(es: AsyncElasticsearch, model_id: str, **extra: Any) -> dict[str, Any]:
    body = {"input": {"field_names": ["field1", "field2"]}, "inference_config": {"regression": {}},
            "definition": {"preprocessors": [], "trained_model": tree(["field1", "field2"], [LEAF])}}
    return (await es.ml.put_trained_model(model_id=model_id, **{**body, **extra})).body


async def test_lang_ident_model_is_built_in_and_counted(es: AsyncElasticsearch, world: Cluster) -> None:
    got = await es.ml.get_trained_models(model_id="lang_ident_model_1", allow_no_match=False)
    config = got["trained_model_configs"][0]
    assert (config["model_type"], config["license_level"], config["created_by"]) == ("lang_ident", "basic", "_xpack")
    assert config["input"] == {"field_names": ["text"]} and "classification" in config["inference_config"]
    assert config["estimated_operations"] == 39629 and config["tags"] == ["lang_ident", "prepackaged"]
    await put_regression(es, "a-regression-model-0")
    everything = await es.ml.get_trained_models(model_id="*", from_=1, size=1)
    assert everything["count"] == 2 and everything["trained_model_configs"][0]["model_id"] == "lang_ident_model_1"
    with pytest.raises(NotFoundError):
        await es.ml.delete_trained_model(model_id="lang_ident_model_1")


async def test_lang_ident_answers_language_codes(es: AsyncElasticsearch, world: Cluster) -> None:
    texts = ["The cat is on the table and it is asleep", "El perro de la casa es muy grande",
             "Der Hund ist nicht hier und das ist gut", "これは日本語の文章です", "Привет, как дела?",
             "Привіт, як справи? Їжак", "Γεια σου κόσμε", "안녕하세요", "نمی دانم چرا گربه"]
    answer = await es.ml.infer_trained_model(model_id="lang_ident_model_1", docs=[{"text": t} for t in texts])
    results = answer["inference_results"]
    assert [r["predicted_value"] for r in results] == ["en", "es", "de", "ja", "ru", "uk", "el", "ko", "fa"]
    assert all(0.5 < r["prediction_probability"] == r["prediction_score"] <= 1 for r in results)
    assert all("top_classes" not in r for r in results)  # the model's num_top_classes is 0
    again = await es.ml.infer_trained_model(model_id="lang_ident_model_1", docs=[{"text": texts[0]}])
    assert again["inference_results"][0] == results[0]

    ranked = await es.ml.infer_trained_model(model_id="lang_ident_model_1", docs=[{"text": texts[1]}],
                                             inference_config={"classification": {"num_top_classes": -1}})
    top = ranked["inference_results"][0]["top_classes"]
    assert len(top) == 109 and top[0]["class_name"] == "es" and "zh-Latn" in {c["class_name"] for c in top}
    assert abs(sum(c["class_probability"] for c in top) - 1) < 1e-3
    missing = await es.ml.infer_trained_model(model_id="lang_ident_model_1", docs=[{"body": "hi"}])
    assert missing["inference_results"][0] == {
        "warning": "Model [lang_ident_model_1] could not be inferred as all fields were missing"}

    simulated = await es.ingest.simulate(pipeline={"processors": [{"inference": {"model_id": "lang_ident_model_1"}}]},
                                         docs=[{"_source": {"text": "Le chat est sur la table"}}])
    written = simulated["docs"][0]["doc"]["_source"]["ml"]["inference"]
    assert written["predicted_value"] == "fr" and written["model_id"] == "lang_ident_model_1"


async def test_inference_config_must_support_the_definition_target_type(es: AsyncElasticsearch, world: Cluster) -> None:
    definition = ensemble([tree(["field1", "field2"], SPLIT_TREE, target_type="regression")] * 2,
                          target_type="regression")
    with pytest.raises(BadRequestError) as refused:
        await es.ml.put_trained_model(model_id="my-regression-model", input={"field_names": ["field1", "field2"]},
                                      inference_config={"classification": {}}, definition=definition)
    assert error_of(refused.value) == (400, "status_exception", "Model [my-regression-model] inference config type "
                                       "[classification] does not support definition target type [regression]")
    assert "my-regression-model" not in world.state.models


async def test_estimated_operations_of_an_ensemble(es: AsyncElasticsearch, world: Cluster) -> None:
    definition = ensemble([tree(["field1", "field2"], SPLIT_TREE, target_type="regression")] * 2,
                          target_type="regression")
    put = await es.ml.put_trained_model(model_id="my-regression-model", input={"field_names": ["field1", "field2"]},
                                        inference_config={"regression": {}}, definition=definition)
    assert put["estimated_operations"] == 6  # ceil(ln 3) + 2 features per tree, + 2 to aggregate the second
    assert "definition" not in put.body and "compressed_definition" not in put.body


async def test_ensemble_and_tree_rules(es: AsyncElasticsearch, world: Cluster) -> None:
    with pytest.raises(BadRequestError) as empty:
        await es.ml.put_trained_model(model_id="missing_model_ensembles", input={"field_names": ["f"]},
                                      inference_config={"regression": {}},
                                      definition=ensemble([], feature_names=[]))
    assert caused_by(empty.value) == ["Definition for [missing_model_ensembles] has validation failures.",
                                      "[trained_models] must not be empty"]
    assert empty.value.body["error"]["root_cause"][0]["reason"] == "[trained_models] must not be empty"
    split = [{"node_index": 0, "split_feature": 1, "threshold": 10.0, "left_child": 1, "right_child": 2}]
    with pytest.raises(BadRequestError) as bounds:
        await es.ml.put_trained_model(model_id="out_of_bounds", input={"field_names": ["f"]},
                                      inference_config={"regression": {}},
                                      definition=ensemble([tree([], split)], feature_names=[]))
    assert caused_by(bounds.value)[1] == "feature index [1] is out of bounds for the [feature_names] array"
    assert set(world.state.models) == {"lang_ident_model_1"}


async def test_input_field_names_rules(es: AsyncElasticsearch, world: Cluster) -> None:
    stump = ensemble([tree([], [{"node_index": 0, "decision_type": "lte", "leaf_value": 12.0}])], feature_names=[])
    put = await es.ml.put_trained_model(model_id="ensemble_tree_empty_feature_names",
                                        input={"field_names": "fieldy_mc_fieldname"},
                                        inference_config={"regression": {}}, definition=stump)
    assert put["input"] == {"field_names": ["fieldy_mc_fieldname"]}  # one string reads as a one-element list
    with pytest.raises(BadRequestError) as empty:
        await es.ml.put_trained_model(model_id="no-fields", input={"field_names": []},
                                      inference_config={"regression": {}}, definition=stump)
    assert error_of(empty.value) == (400, "action_request_validation_exception",
                                     "Validation Failed: 1: [input.field_names] must not be empty;")


@pytest.mark.parametrize("field", ["input", "metadata", "inference_config", "definition"])
async def test_an_object_field_given_as_null_is_a_parse_error(http: TestClient, world: Cluster, field: str) -> None:
    raw = '{"model_type": "tree_ensemble", "%s": null, "inference_config": {"regression": {}}}' % field
    raw = raw.replace(', "inference_config": {"regression": {}}', "") if field == "inference_config" else raw
    status, body = await call(http, "PUT", "/_ml/trained_models/null-fields", raw=raw)
    assert (status, body["error"]["type"]) == (400, "x_content_parse_exception")
    assert body["error"]["reason"].endswith(f"[trained_model_config] {field} doesn't support values of type: VALUE_NULL")
    assert "null-fields" not in world.state.models


async def test_vocabulary_in_a_model_put_is_refused(http: TestClient, world: Cluster) -> None:
    raw = '{"model_type": "pytorch", "inference_config": {"ner": {"vocabulary": {"index": ".ml-inference-native"}}}}'
    status, body = await call(http, "PUT", "/_ml/trained_models/distilbert-finetuned-sst", raw=raw)
    error = body["error"]
    assert (status, error["type"]) == (400, "x_content_parse_exception")
    assert error["reason"].endswith("[trained_model_config] failed to parse field [inference_config]")
    assert error["caused_by"]["reason"].endswith("[ner] failed to parse field [vocabulary]")
    assert error["caused_by"]["caused_by"] == {"type": "status_exception",
                                              "reason": "illegal setting [vocabulary] on inference model creation"}
    assert error["root_cause"][0]["reason"] == error["reason"]  # a parse exception is its own root cause


async def test_defer_definition_decompression_rules(http: TestClient, world: Cluster) -> None:
    bad = "H4sIAAAAAAAAAEy92a5mW26l9y55HWdj9o3u9RS+SMil4yrBUgpIpywY9fLmR3LMFSpI"
    body = {"input": {"field_names": ["field1"]}, "inference_config": {"classification": {}},
            "compressed_definition": bad}
    deferred = "/_ml/trained_models/{}?defer_definition_decompression=true"
    status, answer = await call(http, "PUT", deferred.format("no-size"), body=body)
    assert (status, answer["error"]["reason"]) == (400, "Validation Failed: 1: when [defer_definition_decompression] "
                                                   "is true and a compressed definition is provided, model_size_bytes "
                                                   "must be set;")
    status, answer = await call(http, "PUT", deferred.format("sized"), body={**body, "model_size_bytes": 1024})
    assert status == 200 and answer["model_size_bytes"] == 1024
    status, answer = await call(http, "PUT", "/_ml/trained_models/not-deferred", body=body)
    assert (status, answer["error"]["reason"]) == (400, "Failed to parse definition for [not-deferred]")


async def test_include_definition_status_rules(es: AsyncElasticsearch, world: Cluster) -> None:
    await es.ml.put_trained_model(model_id="model-without-definition", model_type="pytorch",
                                  inference_config={"ner": {}}, platform_architecture="windows-x86_64")
    await put_regression(es, "a-regression-model-0")
    got = await es.ml.get_trained_models(model_id="model-without-definition", include="definition_status")
    assert got["trained_model_configs"][0]["fully_defined"] is False
    plain = (await es.ml.get_trained_models(model_id="model-without-definition"))["trained_model_configs"][0]
    assert "fully_defined" not in plain and plain["platform_architecture"] == "windows-x86_64"
    with pytest.raises(BadRequestError) as several:
        await es.ml.get_trained_models(model_id="_all", include="definition_status")
    assert error_of(several.value)[2] == (
        "Getting the model download status is not supported when getting more than one model")
    with pytest.raises(BadRequestError) as tree_model:
        await es.ml.get_trained_models(model_id="a-regression-model-0", include="definition_status")
    assert error_of(tree_model.value)[2] == "Definition status is only relevant to PyTorch model types"


async def test_inference_processor_needs_a_model_id(es: AsyncElasticsearch, world: Cluster) -> None:
    with pytest.raises(BadRequestError) as missing:
        await es.ingest.put_pipeline(id="p", processors=[{"inference": {"target_field": "x"}}])
    error = missing.value.body["error"]
    assert (error["type"], error["reason"]) == ("parse_exception", "[model_id] required property is missing")
    assert (error["processor_type"], error["property_name"]) == ("inference", "model_id")
    assert world.state.pipelines == {}


async def test_fill_mask_mask_token_default_and_check(es: AsyncElasticsearch, world: Cluster) -> None:
    for model_id, tokenizer, token in (("bert-fill", "bert", "[MASK]"), ("roberta-fill", "roberta", "<mask>")):
        config = {"fill_mask": {"tokenization": {tokenizer: {"with_special_tokens": False}}}}
        await es.ml.put_trained_model(model_id=model_id, model_type="pytorch", inference_config=config)
        got = await es.ml.get_trained_models(model_id=model_id)
        assert got["trained_model_configs"][0]["inference_config"]["fill_mask"]["mask_token"] == token
    with pytest.raises(BadRequestError) as wrong:
        await es.ml.put_trained_model(model_id="incorrect_mask_token", model_type="pytorch", inference_config={
            "fill_mask": {"tokenization": {"bert": {}}, "mask_token": "<mask>"}})
    assert "IllegalArgumentException: Mask token requested was [<mask>] but must be [[MASK]] for this model" in str(
        wrong.value.body)
    assert caused_by(wrong.value)[-1] == "Mask token requested was [<mask>] but must be [[MASK]] for this model"
    await es.ml.put_trained_model_definition_part(model_id="roberta-fill", part=0, definition="AAAA",
                                                  total_definition_length=2**20, total_parts=1)
    await es.ml.put_trained_model_vocabulary(model_id="roberta-fill", vocabulary=["<s>", "</s>", "<mask>"])
    await es.ml.start_trained_model_deployment(model_id="roberta-fill")
    answer = await es.ml.infer_trained_model(model_id="roberta-fill", docs=[{"input": "Paris is the <mask>"}])
    result = answer["inference_results"][0]
    assert result["sequence"] == f"Paris is the {result['predicted_value']}"  # the tokenizer's mask is filled


async def test_prefix_strings_kept(es: AsyncElasticsearch, world: Cluster) -> None:
    put = await es.ml.put_trained_model(model_id="model_with_search_prefix", model_type="pytorch",
                                        inference_config={"text_embedding": {}},
                                        prefix_strings={"search": "this is a query"})
    assert put["prefix_strings"] == {"search": "this is a query"}
    got = await es.ml.get_trained_models(model_id="model_with_search_prefix")
    assert got["trained_model_configs"][0]["prefix_strings"] == {"search": "this is a query"}
    assert got["trained_model_configs"][0]["input"] == {"field_names": ["input"]}  # PyTorch default input


async def test_compressed_definition_and_exclude_generated(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_regression(es, "a-regression-model-1", description="empty model for tests", tags=["regression"])
    got = await es.ml.get_trained_models(model_id="a-regression-model-1", exclude_generated=True,
                                         include="definition", decompress_definition=False)
    config = got["trained_model_configs"][0]
    assert config["compressed_definition"] and config["tags"] == ["regression"] and config["input"]
    for generated in ("created_by", "version", "create_time", "estimated_operations", "license_level"):
        assert generated not in config
    full = await es.ml.get_trained_models(model_id="a-regression-model-1", include="definition")
    assert full["trained_model_configs"][0]["definition"]["trained_model"]["tree"]["feature_names"] == [
        "field1", "field2"]
    with pytest.raises(BadRequestError):
        await es.ml.get_trained_models(model_id="*", include="definition")


async def test_learning_to_rank_inference_config(es: AsyncElasticsearch, world: Cluster) -> None:
    config = {"learning_to_rank": {"feature_extractors": [
        {"query_extractor": {"feature_name": "title_bm25", "query": {"match": {"title": "{{keywords}}"}}}}]}}
    await put_regression(es, "ltr-model", inference_config=config)
    got = await es.ml.get_trained_models(model_id="ltr-model")
    assert got["trained_model_configs"][0]["inference_config"] == config
    with pytest.raises(BadRequestError):
        await put_regression(es, "ltr-classifier", inference_config=config, definition={
            "trained_model": tree(["field1"], [LEAF], target_type="classification", classification_labels=["a"])})


async def test_clear_cache_empties_the_cache(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_pytorch_model(es, "test_model", task="pass_through")
    await es.ml.start_trained_model_deployment(model_id="test_model", deployment_id="cache_test", cache_size="10kb")
    for text in ("words", "are", "words"):
        await es.ml.infer_trained_model(model_id="test_model", docs=[{"text_field": text}])
    node = (await es.ml.get_trained_models_stats(model_id="test_model"))["trained_model_stats"][0]
    assert (node["deployment_stats"]["nodes"][0]["inference_count"],
            node["deployment_stats"]["nodes"][0]["inference_cache_hit_count"]) == (3, 1)
    assert (await es.ml.clear_trained_model_deployment_cache(model_id="cache_test"))["cleared"] is True
    await es.ml.infer_trained_model(model_id="test_model", docs=[{"text_field": "words"}])
    node = (await es.ml.get_trained_models_stats(model_id="test_model"))["trained_model_stats"][0]
    assert (node["deployment_stats"]["nodes"][0]["inference_count"],
            node["deployment_stats"]["nodes"][0]["inference_cache_hit_count"]) == (4, 1)  # a miss after clearing
    with pytest.raises(NotFoundError):
        await es.ml.clear_trained_model_deployment_cache(model_id="nope")


async def test_pytorch_model_without_input_reads_the_input_field(es: AsyncElasticsearch, world: Cluster) -> None:
    """A PyTorch model PUT without `input` reads each document's `input` field; a document
    without text fails the whole `_infer` with a 400 and reaches no model."""
    await es.ml.put_trained_model(model_id="plain", model_type="pytorch", inference_config={"pass_through": {}})
    await es.ml.put_trained_model_definition_part(model_id="plain", part=0, definition="AAAA",
                                                  total_definition_length=1630, total_parts=1)
    await es.ml.put_trained_model_vocabulary(model_id="plain", vocabulary=["[PAD]", "[UNK]", "words"])
    assert (await es.ml.get_trained_models(model_id="plain"))["trained_model_configs"][0]["input"] == {
        "field_names": ["input"]}
    await es.ml.start_trained_model_deployment(model_id="plain", cache_size="10kb")
    answer = await es.ml.infer_trained_model(model_id="plain", docs=[{"input": "words"}])
    assert "predicted_value" in answer["inference_results"][0]
    for docs, reason in [
        ([{"input": "words"}, {"text_field": "words"}], "Input field [input] does not exist in the source document"),
        ([{"input": 5}], "Input value [5] for field [input] must be a string"),
        ([{"input": {"nested": True}}], "Input value [{nested=true}] for field [input] must be a string"),
    ]:
        with pytest.raises(BadRequestError) as refused:
            await es.ml.infer_trained_model(model_id="plain", docs=docs)
        assert error_of(refused.value) == (400, "status_exception", reason)
    again = await es.ml.infer_trained_model(model_id="plain", docs=[{"input": "words"}])  # a cache hit
    assert again["inference_results"] == answer["inference_results"]
    node = (await es.ml.get_trained_models_stats(model_id="plain"))["trained_model_stats"][0]["deployment_stats"][
        "nodes"][0]
    # the first failed request's good document was still inferred, as ES runs each document
    assert (node["inference_count"], node["inference_cache_hit_count"]) == (3, 2)


async def test_stop_with_allow_no_match_on_a_stopped_deployment(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_pytorch_model(es, "test_model")
    await es.ml.start_trained_model_deployment(model_id="test_model", deployment_id="test_model_for_search")
    assert (await es.ml.stop_trained_model_deployment(model_id="test_model_for_search"))["stopped"] is True
    with pytest.raises(NotFoundError) as missing:
        await es.ml.stop_trained_model_deployment(model_id="test_model_for_search", allow_no_match=False)
    assert error_of(missing.value)[2] == "No known model deployment with id [test_model_for_search]"
    stopped = await es.ml.stop_trained_model_deployment(model_id="test_model_for_search", allow_no_match=True)
    assert stopped["stopped"] is True


@pytest.mark.parametrize("model_id", [".elser_model_2", ".elser_model_2_linux-x86_64", ".multilingual-e5-small"])
async def test_elastic_provided_model_downloads(es: AsyncElasticsearch, world: Cluster, model_id: str) -> None:
    put = await es.ml.put_trained_model(model_id=model_id, input={"field_names": ["text_field"]})
    assert put["model_type"] == "pytorch" and put["model_size_bytes"] == PACKAGES[model_id].size_bytes
    status = await es.ml.get_trained_models(model_id=model_id, include="definition_status")
    assert status["trained_model_configs"][0]["fully_defined"] is False
    again = await es.ml.put_trained_model(model_id=model_id, input={"field_names": ["text_field"]})
    assert again["model_id"] == model_id  # a PUT during the download answers with the model being fetched
    with pytest.raises(ApiError) as downloading:
        await es.ml.start_trained_model_deployment(model_id=model_id)
    assert error_of(downloading.value) == (408, "status_exception", "Model download task is currently running. Wait "
                                           f"for trained model [{model_id}] download task to complete then try again")
    world.advance(PACKAGES[model_id].download_seconds)
    status = await es.ml.get_trained_models(model_id=model_id, include="definition_status")
    assert status["trained_model_configs"][0]["fully_defined"] is True
    started = await es.ml.start_trained_model_deployment(model_id=model_id)
    assert started["assignment"]["assignment_state"] == "started"


async def test_put_waits_for_the_download_when_asked(
    es: AsyncElasticsearch, http: TestClient, world: Cluster
) -> None:
    status, body = await call(http, "PUT", "/_ml/trained_models/.multilingual-e5-small"
                              "?wait_for_completion=true&timeout=1s", body={"input": {"field_names": ["text_field"]}})
    assert (status, body["error"]["reason"]) == (408, "Timed out waiting for model download to complete")
    world.advance(PACKAGES[".multilingual-e5-small"].download_seconds)
    put = await es.ml.put_trained_model(model_id=".elser_model_2", input={"field_names": ["text_field"]},
                                        wait_for_completion=True)
    assert put["model_id"] == ".elser_model_2"
    waited = 1 + PACKAGES[".multilingual-e5-small"].download_seconds  # the timed-out wait, then the rest
    assert world.now == pytest.approx(waited + PACKAGES[".elser_model_2"].download_seconds)
    assert world.state.models[".elser_model_2"].fully_defined


async def test_delete_names_the_alias_a_pipeline_uses(es: AsyncElasticsearch, world: Cluster) -> None:
    await put_regression(es, "a-classification-model", inference_config={"regression": {}})
    await es.ml.put_trained_model_alias(model_id="a-classification-model", model_alias="alias-to-a-model")
    await es.ingest.put_pipeline(id="p", processors=[{"inference": {"model_id": "alias-to-a-model"}}])
    with pytest.raises(ConflictError) as used:
        await es.ml.delete_trained_model(model_id="a-classification-model")
    assert error_of(used.value)[2] == (
        "Cannot delete model [a-classification-model] as it has a model_alias [alias-to-a-model] that is still "
        "referenced by ingest processors; use force to delete the model")


async def test_cat_type_column_and_short_aliases(http: TestClient, world: Cluster) -> None:
    for model_id in ("a-regression-model-0", "a-regression-model-1"):
        await call(http, "PUT", f"/_ml/trained_models/{model_id}", body={
            "input": {"field_names": ["field1"]}, "inference_config": {"regression": {}},
            "definition": {"trained_model": tree(["field1"], [LEAF])}})
    status, text = await call(http, "GET", "/_cat/ml/trained_models/a-regression-model-0?v=true")
    header, row = text.splitlines()
    assert header.split() == ["id", "heap_size", "operations", "create_time", "type", "ingest.pipelines",
                              "data_frame.id"]
    assert row.split()[4] == "tree_ensemble"
    status, text = await call(http, "GET", "/_cat/ml/trained_models?h=id,license,dfid,ip&v=true")
    rows = [line.split() for line in text.splitlines()]
    assert rows[0] == ["id", "license", "dfid", "ip"]
    assert [r[0] for r in rows[1:]] == ["a-regression-model-0", "a-regression-model-1", "lang_ident_model_1"]
    assert rows[3][1:] == ["BASIC", "__none__", "0"]
