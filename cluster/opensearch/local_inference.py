"""Answers of a local (deployed on the ML nodes) text-embedding model, and how long they take.

There are no weights: each text's `sentence_embedding` is a deterministic pseudo-random
FLOAT32 vector seeded by a hash of the model (its `model_content_hash_value`, else its id)
and the text, of the model's `model_config.embedding_dimension`, unit-length when
`model_config.normalize_result` is true. Same model and text, same vector, in every run.

Time: the texts of one request are embedded one after another, each taking the mean of the
cluster's inference profile (`ClusterSettings.inference_profile`, one thread); no draw, no
queueing between concurrent requests.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from nodes.service_model import InferenceProfile

EMBEDDING_OUTPUT = "sentence_embedding"


def embedding(seed_key: str, text: str, dimension: int, normalize: bool) -> list[float]:
    """One text's vector, as the float32 values Java prints (shortest round-trip form)."""
    digest = hashlib.sha256(f"{seed_key}\x00{text}".encode("utf-8", "surrogatepass")).digest()
    vector = np.random.default_rng(int.from_bytes(digest[:8], "big")).standard_normal(dimension).astype(np.float32)
    if normalize:
        vector = vector / np.float32(np.linalg.norm(vector))
    return [float(str(value)) for value in vector]


def text_embedding_answer(model_id: str, model: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """The predict answer of a TEXT_EMBEDDING model: one `sentence_embedding` per text."""
    config = model.get("model_config") or {}
    dimension = int(config["embedding_dimension"])
    normalize = bool(config.get("normalize_result", False))
    seed_key = model.get("model_content_hash_value") or model_id
    return {
        "inference_results": [
            {
                "output": [
                    {
                        "name": EMBEDDING_OUTPUT,
                        "data_type": "FLOAT32",
                        "shape": [dimension],
                        "data": embedding(seed_key, text, dimension, normalize),
                    }
                ]
            }
            for text in texts
        ]
    }


def local_latency_seconds(profile: InferenceProfile, texts: int) -> float:
    return profile.mean_seconds(1) * texts
