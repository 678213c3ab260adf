"""The 24 models of OpenSearch's supported-pretrained-models list register by name alone,
and a custom model's `model_config` keeps only what was sent."""

from __future__ import annotations

import pytest
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster

from .ml_helpers import allow_registering_via_url

#: (name, version, function_name) as the documentation's tables list them.
DOCUMENTED = [
    *((f"huggingface/sentence-transformers/{name}", version, "TEXT_EMBEDDING") for name, version in (
        ("all-distilroberta-v1", "1.0.1"), ("all-MiniLM-L6-v2", "1.0.1"), ("all-MiniLM-L12-v2", "1.0.1"),
        ("all-mpnet-base-v2", "1.0.1"), ("msmarco-distilbert-base-tas-b", "1.0.2"),
        ("multi-qa-MiniLM-L6-cos-v1", "1.0.1"), ("multi-qa-mpnet-base-dot-v1", "1.0.1"),
        ("paraphrase-MiniLM-L3-v2", "1.0.1"), ("paraphrase-multilingual-MiniLM-L12-v2", "1.0.1"),
        ("paraphrase-mpnet-base-v2", "1.0.0"), ("distiluse-base-multilingual-cased-v1", "1.0.1"))),
    *((f"amazon/neural-sparse/opensearch-neural-sparse-{name}", version, function) for name, version, function in (
        ("encoding-v1", "1.0.1", "SPARSE_ENCODING"), ("encoding-v2-distill", "1.0.0", "SPARSE_ENCODING"),
        ("encoding-doc-v1", "1.0.1", "SPARSE_ENCODING"), ("encoding-doc-v2-distill", "1.0.0", "SPARSE_ENCODING"),
        ("encoding-doc-v2-mini", "1.0.0", "SPARSE_ENCODING"), ("encoding-doc-v3-distill", "1.0.0", "SPARSE_ENCODING"),
        ("encoding-doc-v3-gte", "1.0.0", "SPARSE_ENCODING"), ("encoding-multilingual-v1", "1.0.0", "SPARSE_ENCODING"),
        ("tokenizer-v1", "1.0.1", "SPARSE_TOKENIZE"), ("tokenizer-multilingual-v1", "1.0.0", "SPARSE_TOKENIZE"))),
    ("huggingface/cross-encoders/ms-marco-MiniLM-L-6-v2", "1.0.2", "TEXT_SIMILARITY"),
    ("huggingface/cross-encoders/ms-marco-MiniLM-L-12-v2", "1.0.2", "TEXT_SIMILARITY"),
    ("amazon/sentence-highlighting/opensearch-semantic-highlighter-v1", "1.0.0", "QUESTION_ANSWERING"),
]


def test_the_list_has_24_models() -> None:
    assert len({name for name, _, _ in DOCUMENTED}) == 24


@pytest.mark.parametrize("name, version, function_name", DOCUMENTED)
async def test_documented_pretrained_model_registers(client: AsyncOpenSearch, cluster: Cluster, name: str,
                                                     version: str, function_name: str) -> None:
    body = {"name": name, "version": version, "model_format": "TORCH_SCRIPT", "function_name": function_name}
    task_id = (await client.plugins.ml.register_model(body=body))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] != "RUNNING", timeout=60)
    task = await client.plugins.ml.get_task(task_id=task_id)
    assert (task["state"], task["function_name"]) == ("COMPLETED", function_name)
    model = await client.plugins.ml.get_model(model_id=task["model_id"])
    assert (model["name"], model["model_state"]) == (name, "REGISTERED")


async def test_custom_model_config_keeps_only_what_was_sent(client: AsyncOpenSearch, cluster: Cluster) -> None:
    await allow_registering_via_url(client)
    config = {"model_type": "bert", "embedding_dimension": 768, "framework_type": "sentence_transformers",
              "normalize_result": False, "all_config": "{}"}
    body = {"name": "huggingface/sentence-transformers/all-mpnet-base-v2", "version": "1", "model_format": "ONNX",
            "function_name": "TEXT_EMBEDDING", "url": "https://example.com/mpnet.zip", "model_config": config}
    task_id = (await client.plugins.ml.register_model(body=body))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] == "COMPLETED", timeout=60)
    model = await client.plugins.ml.get_model(model_id=cluster.ml_commons.tasks.get(task_id)["model_id"])
    # a custom model named like a pretrained one gains no space type; false normalize_result is not written
    assert model["model_config"] == {"model_type": "bert", "embedding_dimension": 768,
                                     "framework_type": "SENTENCE_TRANSFORMERS", "all_config": "{}"}


async def test_a_pretrained_model_takes_its_function_from_the_model_config(client: AsyncOpenSearch,
                                                                           cluster: Cluster) -> None:
    """ml-commons reads the function from the downloaded config: the documentation's
    cross-encoder example sends none, and the model is TEXT_SIMILARITY all the same."""
    body = {"name": "huggingface/cross-encoders/ms-marco-MiniLM-L-6-v2", "version": "1.0.2",
            "model_format": "TORCH_SCRIPT"}
    task_id = (await client.plugins.ml.register_model(body=body, params={"deploy": "true"}))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] == "COMPLETED", timeout=60)
    model_id = cluster.ml_commons.tasks.get(task_id)["model_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.models.index.get(model_id)["model_state"] == "DEPLOYED",
                             timeout=120)
    assert (await client.plugins.ml.get_model(model_id=model_id))["algorithm"] == "TEXT_SIMILARITY"
    answer = await client.plugins.ml.predict_model(
        model_id=model_id, body={"query_text": "today is sunny", "text_docs": ["how are you", "today is sunny"]})
    assert [r["output"][0]["name"] for r in answer["inference_results"]] == ["similarity", "similarity"]
