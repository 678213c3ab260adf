"""Deterministic inference answers: the same text and model config always give the same result.

The simulator has no real models, so each task type answers with a result of the right
shape whose values are derived from a hash of the input. That keeps answers stable across
runs and distinct across inputs, which is what tests and demos need.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

import numpy as np

from . import tree_inference
from .models import TrainedModel
from .lang_ident import lang_ident_result

DEFAULT_EMBEDDING_SIZE = 384
MAX_EMBEDDING_SIZE = 8192
DEFAULT_RESULTS_FIELD = "predicted_value"
NER_CLASSES = ("PER", "ORG", "LOC", "MISC")
MASK_TOKEN = "[MASK]"
_WORD = re.compile(r"\w+")


def _rng(*parts: Any) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _probabilities(rng: np.random.Generator, n: int) -> list[float]:
    weights = rng.random(n) ** 4 + 1e-3
    return [float(w) for w in weights / weights.sum()]


def _ranked(labels: list[str], probs: list[float]) -> list[tuple[str, float]]:
    return sorted(zip(labels, probs), key=lambda lp: (-lp[1], lp[0]))


def nlp_result(task_type: str, settings: dict[str, Any], text: str) -> dict[str, Any]:
    """One document's result for an NLP task (`settings` merged with any request update).

    Raises ValueError or TypeError when a setting cannot be used (a bad `embedding_size`, …).
    """
    field = settings.get("results_field") or DEFAULT_RESULTS_FIELD
    answer = _NLP[task_type](settings, text)
    value = answer.pop("predicted_value")
    return {field: value, **answer}


def _ner(settings: dict[str, Any], text: str) -> dict[str, Any]:
    labels = [c.split("-")[-1] for c in settings.get("classification_labels", [])] or list(NER_CLASSES)
    labels = [c for c in dict.fromkeys(labels) if c != "O"] or list(NER_CLASSES)
    annotated, entities = _ner_entities(text, tuple(labels))
    return {
        "predicted_value": annotated,
        "entities": [
            {"entity": word, "class_name": class_name, "class_probability": probability, "start_pos": start,
             "end_pos": end}
            for word, class_name, probability, start, end in entities
        ],
    }


@functools.lru_cache(maxsize=4096)
def _ner_entities(
    text: str, labels: tuple[str, ...]
) -> tuple[str, tuple[tuple[str, str, float, int, int], ...]]:
    """A text's annotated form and entities (word, class, probability, start, end); kept
    per input, as load tests send the same documents again (the caller builds fresh dicts)."""
    entities, annotated, last = [], [], 0
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[:1].isupper():
            continue
        class_name, probability = _ner_word(word, labels)
        entities.append((word, class_name, probability, match.start(), match.end()))
        annotated.append(f"{text[last:match.start()]}[{word}]({class_name}&{word})")
        last = match.end()
    annotated.append(text[last:])
    return "".join(annotated), tuple(entities)


@functools.lru_cache(maxsize=1 << 16)
def _ner_word(word: str, labels: tuple[str, ...]) -> tuple[str, float]:
    """A capitalised word's class and probability (kept: seeding a generator costs more
    than the rest of a document's answer, and entities recur)."""
    rng = _rng("ner", word)
    return labels[int(rng.integers(len(labels)))], round(0.9 + 0.1 * float(rng.random()), 6)


def embedding(text: str, size: int) -> list[float]:
    """A unit vector of `size` floats derived from the text."""
    if not 1 <= size <= MAX_EMBEDDING_SIZE:
        raise ValueError(f"[embedding_size] must be between 1 and {MAX_EMBEDDING_SIZE}, found [{size}]")
    return list(_embedding(text, size))


@functools.lru_cache(maxsize=256)
def _embedding(text: str, size: int) -> tuple[float, ...]:
    """Kept per input: drawing and rounding the vector is most of an embedding request."""
    vector = _rng("embedding", text).standard_normal(size)
    vector /= np.linalg.norm(vector) or 1.0
    return tuple(round(float(x), 6) for x in vector)


def _text_embedding(settings: dict[str, Any], text: str) -> dict[str, Any]:
    return {"predicted_value": embedding(text, int(settings.get("embedding_size") or DEFAULT_EMBEDDING_SIZE))}


def _classify(labels: list[str], settings: dict[str, Any], text: str, salt: str) -> dict[str, Any]:
    ranked = _ranked(labels, _probabilities(_rng(salt, text, *labels), len(labels)))
    result: dict[str, Any] = {"predicted_value": ranked[0][0], "prediction_probability": round(ranked[0][1], 6)}
    top = int(settings.get("num_top_classes") or 0)
    if top != 0:
        chosen = ranked if top < 0 else ranked[:top]
        result["top_classes"] = [
            {"class_name": label, "class_probability": round(p, 6), "class_score": round(p, 6)} for label, p in chosen
        ]
    return result


def _text_classification(settings: dict[str, Any], text: str) -> dict[str, Any]:
    labels = list(settings.get("classification_labels") or ["LABEL_0", "LABEL_1"])
    return _classify(labels, settings, text, "text_classification")


def _zero_shot(settings: dict[str, Any], text: str) -> dict[str, Any]:
    labels = list(settings.get("labels") or ["positive", "negative"])
    return _classify(labels, settings, text, "zero_shot")


def _fill_mask(settings: dict[str, Any], text: str) -> dict[str, Any]:
    vocabulary = ["the", "a", "good", "new", "best", "first", "same", "last"]
    ranked = _ranked(vocabulary, _probabilities(_rng("fill_mask", text), len(vocabulary)))
    count = int(settings.get("num_top_classes") or 5)
    mask = settings.get("mask_token") or MASK_TOKEN
    token, probability = ranked[0]
    return {
        "predicted_value": token,
        "token": token,
        "sequence": text.replace(mask, token, 1),
        "top_classes": [
            {"class_name": t, "class_probability": round(p, 6), "class_score": round(p, 6),
             "sequence": text.replace(mask, t, 1)}
            for t, p in ranked[:count]
        ],
        "prediction_probability": round(probability, 6),
    }


def _pass_through(settings: dict[str, Any], text: str) -> dict[str, Any]:
    tokens = max(len(_WORD.findall(text)), 1) + 2
    rng = _rng("pass_through", text)
    return {"predicted_value": [[round(float(x), 6) for x in row] for row in rng.standard_normal((tokens, 8))]}


def _text_expansion(settings: dict[str, Any], text: str) -> dict[str, Any]:
    weights = {}
    for word in dict.fromkeys(w.lower() for w in _WORD.findall(text)):
        weights[word] = round(0.1 + 2.0 * float(_rng("text_expansion", word).random()), 6)
    return {"predicted_value": dict(sorted(weights.items(), key=lambda kv: -kv[1]))}


def _question_answering(settings: dict[str, Any], text: str) -> dict[str, Any]:
    words = list(_WORD.finditer(text)) or [None]
    rng = _rng("question_answering", text, settings.get("question", ""))
    match = words[int(rng.integers(len(words)))]
    answer = match.group() if match else ""
    return {
        "predicted_value": answer,
        "start_offset": match.start() if match else 0,
        "end_offset": match.end() if match else 0,
        "prediction_probability": round(0.5 + 0.5 * float(rng.random()), 6),
    }


def _text_similarity(settings: dict[str, Any], text: str) -> dict[str, Any]:
    rng = _rng("text_similarity", text, settings.get("text", ""))
    return {"predicted_value": round(float(rng.normal(0, 4)), 6)}


_NLP = {
    "ner": _ner,
    "text_embedding": _text_embedding,
    "text_classification": _text_classification,
    "zero_shot_classification": _zero_shot,
    "fill_mask": _fill_mask,
    "pass_through": _pass_through,
    "text_expansion": _text_expansion,
    "question_answering": _question_answering,
    "text_similarity": _text_similarity,
}


def analytics_result(
    task_type: str, settings: dict[str, Any], doc: dict[str, Any], model: TrainedModel | None = None
) -> dict[str, Any]:
    """A regression value or a classification label for one document of feature values: a
    tree / ensemble definition is evaluated (`tree_inference`), anything else is hashed."""
    definition = tree_inference.model_definition(model) if model is not None else None
    if definition is not None:
        return tree_inference.infer(model.model_id, definition, model.field_names, settings, doc)
    field = settings.get("results_field") or DEFAULT_RESULTS_FIELD
    rng = _rng(task_type, sorted((k, str(v)) for k, v in doc.items()))
    if task_type in ("regression", "learning_to_rank"):  # a ranking model scores like a regression
        return {field: round(float(rng.normal(0, 100)), 6)}
    labels = [str(label) for label in settings.get("classification_labels") or ["false", "true"]]
    answer = _classify(labels, settings, str(sorted(doc.items())), "classification")
    answer["prediction_score"] = answer["prediction_probability"]
    return {field: answer.pop("predicted_value"), **answer}


def language_result(settings: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The built-in language identifier's answer for one document with `text` (see `lang_ident`)."""
    return lang_ident_result(settings, str(doc["text"]), lambda text: _rng("lang_ident", text))
