"""Answers of a local (deployed on the ML nodes) model, and how long they take, shaped as
ml-commons' translators return them.

There are no weights; every answer is a deterministic function of the model (its
`model_content_hash_value`, else its id) and the input. Same model and input, same answer.
- TEXT_EMBEDDING: each text's `sentence_embedding` is a pseudo-random FLOAT32 vector of the
  model's `model_config.embedding_dimension`, unit-length when `normalize_result` is true.
- SPARSE_ENCODING: each text's lower-cased words (alphanumeric runs, in order of first
  appearance) with a pseudo-random weight in [0.1, 3); SPARSE_TOKENIZE: the same words, each
  with weight 1.0 (ml-commons' weight when the tokenizer has no IDF file). Both as
  `dataAsMap.response[0]`, a map of token to weight; with `sparse_embedding_format`
  TOKEN_ID the keys are stand-in vocabulary ids (a hash of the word below 30522).
- TEXT_SIMILARITY: per text, one FLOAT32 `similarity` score: 10 x the share of the query's
  words the text holds, minus 5, plus a pseudo-random offset in [-0.5, 0.5) (a
  cross-encoder's logit, higher when they share more), with its little-endian
  `byte_buffer` as the translator adds it.
- QUESTION_ANSWERING: the context's sentence sharing the most words with the question
  (the first on a tie), as `{"result": answer}`.

Time: the texts of one request are embedded one after another, each taking the mean of the
cluster's inference profile (`ClusterSettings.inference_profile`, one thread); no draw, no
queueing between concurrent requests.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Any

import numpy as np

from nodes.service_model import InferenceProfile

EMBEDDING_OUTPUT = "sentence_embedding"


def embedding(seed_key: str, text: str, dimension: int, normalize: bool) -> list[float]:
    """One text's vector, as the float32 values Java prints (shortest round-trip form)."""
    return list(_embedding(seed_key, text, dimension, normalize))


@functools.lru_cache(maxsize=256)
def _embedding(seed_key: str, text: str, dimension: int, normalize: bool) -> tuple[float, ...]:
    """Kept per input: printing the floats is most of a predict request's work."""
    digest = hashlib.sha256(f"{seed_key}\x00{text}".encode("utf-8", "surrogatepass")).digest()
    vector = np.random.default_rng(int.from_bytes(digest[:8], "big")).standard_normal(dimension).astype(np.float32)
    if normalize:
        vector = vector / np.float32(np.linalg.norm(vector))
    return tuple(_float32(value) for value in vector)


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


_WORD = re.compile(r"[0-9a-z]+")
#: BERT's vocabulary size: the range of the stand-in token ids (`sparse_embedding_format` TOKEN_ID).
VOCABULARY_SIZE = 30522
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric runs, each once, in order of first appearance."""
    return list(dict.fromkeys(_WORD.findall(text.lower())))


def _unit(seed_key: str, *parts: str) -> float:
    """A pseudo-random number in [0, 1) from a hash of the parts."""
    digest = hashlib.sha256("\x00".join((seed_key, *parts)).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _float32(value: float) -> float:
    """The value as Java prints a float."""
    return float(str(np.float32(value)))


def _seed_key(model_id: str, model: dict[str, Any]) -> str:
    return str(model.get("model_content_hash_value") or model_id)


def sparse_answer(model_id: str, model: dict[str, Any], texts: list[str], tokenize: bool,
                  token_ids: bool = False) -> dict[str, Any]:
    """SPARSE_ENCODING (`tokenize` false: tensor named "output") or SPARSE_TOKENIZE (no name);
    `token_ids`: keyed by a word's stand-in vocabulary id instead of the word."""
    seed_key = _seed_key(model_id, model)
    results = []
    for text in texts:
        weights = {str(int(_unit("vocabulary", word) * VOCABULARY_SIZE)) if token_ids else word:
                   1.0 if tokenize else _float32(0.1 + 2.9 * _unit(seed_key, word)) for word in words(text)}
        tensor: dict[str, Any] = {} if tokenize else {"name": "output"}
        tensor["dataAsMap"] = {"response": [weights]}
        results.append({"output": [tensor]})
    return {"inference_results": results}


def text_similarity_answer(model_id: str, model: dict[str, Any], query: str, texts: list[str]) -> dict[str, Any]:
    """One `similarity` tensor per text, scored against the query."""
    seed_key, query_words = _seed_key(model_id, model), set(words(query))
    results = []
    for text in texts:
        shared = len(query_words & set(words(text))) / len(query_words) if query_words else 0.0
        score = np.float32(10.0 * shared - 5.0 + _unit(seed_key, query, text) - 0.5)
        raw = base64.b64encode(np.array([score], dtype="<f4").tobytes()).decode()
        results.append({"output": [{"name": "similarity", "data_type": "FLOAT32", "shape": [1],
                                    "data": [_float32(score)],
                                    "byte_buffer": {"array": raw, "order": "LITTLE_ENDIAN"}}]})
    return {"inference_results": results}


def question_answering_answer(question: str, context: str) -> dict[str, Any]:
    """The context's sentence that shares the most words with the question."""
    asked = set(words(question))
    sentences = [part.strip() for part in _SENTENCE.findall(context) if part.strip()] or [context]
    answer = max(sentences, key=lambda sentence: (len(asked & set(words(sentence))), -sentences.index(sentence)))
    return {"inference_results": [{"output": [{"result": answer}]}]}
