"""The OpenSearch-provided pretrained models a local register may name without a `url`.

ml-commons downloads such a model's config and artifact from artifacts.opensearch.org; here the
table gives what the simulation needs: the artifact size (which sets the download time and
`total_chunks`) and the `model_config` ml-commons fills in from the downloaded config. The
table holds the 24 models of the documentation's supported-pretrained-models list. Sizes
marked exact are the TORCH_SCRIPT artifacts' `model_content_size_in_bytes` as OpenSearch's
documentation shows them; the others are the size of the underlying checkpoint, rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SENTENCE_TRANSFORMERS = "huggingface/sentence-transformers/"
SPARSE = "amazon/neural-sparse/"
NOT_IN_LIST = "This model is not in the pre-trained model list, please check your parameters."


@dataclass(frozen=True, slots=True)
class Pretrained:
    size_bytes: int
    model_type: str
    embedding_dimension: int | None
    function_name: str = "TEXT_EMBEDDING"


PRETRAINED: dict[str, Pretrained] = {
    SENTENCE_TRANSFORMERS + "all-MiniLM-L6-v2": Pretrained(91_789_778, "bert", 384),  # exact
    SENTENCE_TRANSFORMERS + "msmarco-distilbert-base-tas-b": Pretrained(266_352_827, "distilbert", 768),  # exact
    SENTENCE_TRANSFORMERS + "paraphrase-multilingual-MiniLM-L12-v2": Pretrained(488_135_181, "bert", 384),  # exact
    SENTENCE_TRANSFORMERS + "all-MiniLM-L12-v2": Pretrained(134_000_000, "bert", 384),
    SENTENCE_TRANSFORMERS + "all-distilroberta-v1": Pretrained(329_000_000, "roberta", 768),
    SENTENCE_TRANSFORMERS + "all-mpnet-base-v2": Pretrained(438_000_000, "mpnet", 768),
    SENTENCE_TRANSFORMERS + "multi-qa-MiniLM-L6-cos-v1": Pretrained(91_800_000, "bert", 384),
    SENTENCE_TRANSFORMERS + "multi-qa-mpnet-base-dot-v1": Pretrained(438_000_000, "mpnet", 768),
    SENTENCE_TRANSFORMERS + "paraphrase-MiniLM-L3-v2": Pretrained(69_600_000, "bert", 384),
    SENTENCE_TRANSFORMERS + "paraphrase-mpnet-base-v2": Pretrained(438_000_000, "mpnet", 768),
    SENTENCE_TRANSFORMERS + "distiluse-base-multilingual-cased-v1": Pretrained(539_000_000, "distilbert", 512),
    "huggingface/cross-encoders/ms-marco-MiniLM-L-6-v2": Pretrained(91_000_000, "bert", None, "TEXT_SIMILARITY"),
    "huggingface/cross-encoders/ms-marco-MiniLM-L-12-v2": Pretrained(134_000_000, "bert", None, "TEXT_SIMILARITY"),
    "amazon/neural-sparse/opensearch-neural-sparse-encoding-v1": Pretrained(
        268_000_000, "bert", None, "SPARSE_ENCODING"),
    "amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v1": Pretrained(
        268_000_000, "bert", None, "SPARSE_ENCODING"),
    "amazon/neural-sparse/opensearch-neural-sparse-tokenizer-v1": Pretrained(
        570_000, "bert", None, "SPARSE_TOKENIZE"),
    SPARSE + "opensearch-neural-sparse-encoding-v2-distill": Pretrained(268_000_000, "distilbert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-encoding-doc-v2-distill": Pretrained(
        268_000_000, "distilbert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-encoding-doc-v2-mini": Pretrained(91_000_000, "bert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-encoding-doc-v3-distill": Pretrained(
        268_000_000, "distilbert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-encoding-doc-v3-gte": Pretrained(548_000_000, "bert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-encoding-multilingual-v1": Pretrained(
        670_000_000, "bert", None, "SPARSE_ENCODING"),
    SPARSE + "opensearch-neural-sparse-tokenizer-multilingual-v1": Pretrained(
        6_400_000, "bert", None, "SPARSE_TOKENIZE"),
    "amazon/sentence-highlighting/opensearch-semantic-highlighter-v1": Pretrained(
        438_000_000, "bert", None, "QUESTION_ANSWERING"),
}


def pretrained_config(name: str, model: Pretrained) -> dict[str, Any] | None:
    """The `model_config` of a pretrained text-embedding model (others have none)."""
    if model.embedding_dimension is None:
        return None
    config = {"model_type": model.model_type, "embedding_dimension": model.embedding_dimension,
              "framework_type": "SENTENCE_TRANSFORMERS", "pooling_mode": "MEAN", "normalize_result": True}
    return with_space_type(config, name)


def with_space_type(config: dict[str, Any], model_name: str) -> dict[str, Any]:
    """ml-commons records the space type of well-known base models in `additional_config`."""
    space_type = SPACE_TYPES.get(model_name.rsplit("/", 1)[-1])
    if space_type is None:
        return config
    return {**config, "additional_config": {**(config.get("additional_config") or {}), "space_type": space_type}}


#: ml-commons sets `model_config.additional_config.space_type` for these sentence-transformers
#: models (matched on the last segment of the model name).
SPACE_TYPES = {
    "all-distilroberta-v1": "l2", "all-MiniLM-L6-v2": "l2", "all-MiniLM-L12-v2": "l2", "all-mpnet-base-v2": "l2",
    "msmarco-distilbert-base-tas-b": "innerproduct", "multi-qa-MiniLM-L6-cos-v1": "l2",
    "multi-qa-mpnet-base-dot-v1": "innerproduct", "paraphrase-MiniLM-L3-v2": "cosine",
    "paraphrase-multilingual-MiniLM-L12-v2": "cosine", "paraphrase-mpnet-base-v2": "cosine",
    "distiluse-base-multilingual-cased-v1": "cosine",
}
