"""Evaluating a tree / ensemble definition on one document, as Elasticsearch's LocalModel does.

The document is narrowed to the model's `input.field_names` (dotted paths collapsed), the
definition's preprocessors add encoded features, and the trained model walks its trees:
a missing or non-numeric feature follows `default_left`, ensembles combine their trees with
`aggregate_output`, and the answer is shaped by the regression or classification config
(`results_field`, `num_top_classes`, `top_classes_results_field`, `prediction_field_type`).
Pure: dicts in, a result dict (or an MlError) out.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Any

from .definition_codec import decompress
from .errors import illegal_argument, status_error
from .models import TrainedModel
from .tree_nodes import is_inner, leaf_values, next_child
from .tree_shap import tree_importance

DEFAULT_RESULTS_FIELD = "predicted_value"
DEFAULT_TOP_CLASSES_FIELD = "top_classes"
AGGREGATORS = ("weighted_sum", "weighted_mode", "logistic_regression", "exponent")
ALL_FIELDS_MISSING = "Model [{}] could not be inferred as all fields were missing"
#: A string Java's Double.valueOf reads (decimal, optional f/d suffix, NaN, Infinity).
_JAVA_DOUBLE = re.compile(r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)")


def model_definition(model: TrainedModel) -> dict[str, Any] | None:
    """The model's inline definition (decoded from `compressed_definition` if need be), or
    None when it has no tree / ensemble to evaluate."""
    definition = model.definition_doc
    if definition is None and model.compressed_definition is not None:
        definition = _decompressed(model.compressed_definition)
    trained = definition.get("trained_model") if isinstance(definition, dict) else None
    if not isinstance(trained, dict) or not ({"tree", "ensemble"} & trained.keys()):
        return None
    return definition


@functools.lru_cache(maxsize=32)
def _decompressed(text: str) -> dict[str, Any] | None:
    """A compressed definition, decoded once rather than per document (callers only read it)."""
    try:
        return decompress(text)
    except ValueError:
        return None


def infer(model_id: str, definition: dict[str, Any], field_names: list[str], settings: dict[str, Any],
          doc: dict[str, Any]) -> dict[str, Any]:
    """One document's result: ES's regression or classification map, or its warning when
    none of the model's input fields is in the document.

    A definition part ES's strict parser would have refused at PUT (mlsim does not check
    preprocessors or `aggregate_output` there) is refused here with a 400 instead."""
    try:
        return _infer(model_id, definition, field_names, settings, doc)
    except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        raise status_error(400, f"Model [{model_id}] definition cannot be evaluated: {exc!r}") from None


def _infer(model_id: str, definition: dict[str, Any], field_names: list[str], settings: dict[str, Any],
           doc: dict[str, Any]) -> dict[str, Any]:
    fields = {name: value for name in field_names for value in [dig(doc, name)] if value is not None}
    if not fields:
        return {"warning": ALL_FIELDS_MISSING.format(model_id)}
    for processor in definition.get("preprocessors") or []:
        _preprocess(processor, fields)
    kind, body = next(iter(definition["trained_model"].items()))
    importance_wanted = int(settings.get("num_top_feature_importance_values") or 0)
    target = body.get("target_type", "regression")
    if kind == "ensemble":
        outputs, importance = _outputs(body, fields, importance_wanted > 0)
        importance = _decoded(importance, definition.get("preprocessors") or [])
        aggregator = _aggregator(body)
        processed = aggregator.process(outputs)
        if target == "classification":
            return _classification(processed, body, settings, importance, body.get("classification_weights"))
        return _regression(aggregator.aggregate(processed), settings, importance)
    values, importance = _raw(kind, body, fields, importance_wanted > 0)
    importance = _decoded(importance, definition.get("preprocessors") or [])
    if target == "classification":
        return _classification(_tree_probabilities(values, body), body, settings, importance, None)
    if not values:
        raise status_error(500, f"model [{model_id}] returned no value")
    return _regression(values[0], settings, importance)


# --- input ---------------------------------------------------------------------------------

def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path, whether its parts are nested objects or dotted keys
    (ES's MapHelper.dig); None when absent."""
    if not isinstance(doc, dict):
        return None
    if doc.get(path) is not None:
        return doc[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if isinstance(doc.get(head), dict):
            found = dig(doc[head], ".".join(parts[i:]))
            if found is not None:
                return found
    return None


def to_double(value: Any) -> float:
    """A feature as a double: numbers and numeric strings; anything else is missing (NaN)."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond doubles: Java's BigInteger.doubleValue is infinite
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        text = value.strip()
        if _JAVA_DOUBLE.fullmatch(text):
            return float(text.rstrip("fFdD") if not text.endswith("Infinity") else text.replace("Infinity", "inf"))
    return math.nan


def java_string(value: Any) -> str:
    """A JSON value as Java's toString writes it (the key preprocessors look up)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if value == 0 or 1e-3 <= abs(value) < 1e7:
            return repr(value)
        sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
        text = "".join(map(str, digits))
        return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(digits) + int(exponent) - 1}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def _preprocess(processor: dict[str, Any], fields: dict[str, Any]) -> None:
    """Apply one preprocessor in place (ES's PreProcessor.process)."""
    (kind, spec), = processor.items()
    if kind == "multi_encoding":
        for inner in spec.get("processors") or []:
            _preprocess(inner, fields)
        return
    value = fields.get(spec.get("field"))
    if value is None:
        return
    text = java_string(value)
    if kind == "one_hot_encoding":
        for category, column in sorted((spec.get("hot_map") or {}).items()):
            fields[column] = 1 if text == category else 0
    elif kind == "target_mean_encoding":
        fields[spec["feature_name"]] = (spec.get("target_map") or {}).get(text, spec.get("default_value"))
    elif kind == "frequency_encoding":
        fields[spec["feature_name"]] = (spec.get("frequency_map") or {}).get(text, 0.0)
    elif kind == "n_gram_encoding":
        _ngrams(spec, text, fields)


def _ngrams(spec: dict[str, Any], text: str, fields: dict[str, Any]) -> None:
    start, length, prefix = _ngram_layout(spec)
    if start > len(text) or len(text) + start < 0:
        return
    begin = len(text) + start if start < 0 else start
    end = min(begin + length, len(text))
    for n in dict.fromkeys(int(g) for g in spec.get("n_grams") or []):
        for i in range(end):
            if begin + i + n > end:
                break
            fields[f"{prefix}.{n}{i}"] = text[begin + i:begin + i + n]


def _ngram_layout(spec: dict[str, Any]) -> tuple[int, int, str]:
    """An n-gram encoder's `start`, `length` and feature prefix, with ES's defaults."""
    start, length = int(spec.get("start", 0)), int(spec.get("length", 50))
    return start, length, spec.get("feature_prefix") or f"ngram_{start}_{length}"


def _decoded(importance: dict[str, list[float]], preprocessors: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Importance of encoded features summed back onto their source field (not for `custom`
    preprocessors, whose outputs are features in their own right)."""
    if not importance:
        return importance
    origin: dict[str, str] = {}
    for processor in preprocessors:
        (kind, spec), = processor.items()
        if spec.get("custom"):
            continue
        if kind == "one_hot_encoding":
            origin.update({column: spec["field"] for column in (spec.get("hot_map") or {}).values()})
        elif kind in ("target_mean_encoding", "frequency_encoding"):
            origin[spec["feature_name"]] = spec["field"]
        elif kind == "n_gram_encoding":
            _, length, prefix = _ngram_layout(spec)
            origin.update({f"{prefix}.{n}{i}": spec["field"] for n in spec.get("n_grams") or []
                           for i in range(length - int(n) + 1)})
    decoded: dict[str, list[float]] = {}
    for feature, values in importance.items():
        name = origin.get(feature, feature)
        decoded[name] = [a + b for a, b in zip(decoded[name], values)] if name in decoded else list(values)
    return decoded


# --- models --------------------------------------------------------------------------------

def _raw(kind: str, body: dict[str, Any], fields: dict[str, Any], importance: bool
         ) -> tuple[list[float], dict[str, list[float]]]:
    """A model's raw output (a tree's leaf; a nested ensemble's aggregate) and, when asked,
    each feature's SHAP importance."""
    if kind == "tree":
        names = list(body.get("feature_names") or [])
        features = [to_double(fields.get(name)) for name in names]
        nodes = sorted(body.get("tree_structure") or [], key=lambda n: n.get("node_index", 0))
        leaf = nodes[_leaf_index(nodes, features)]
        values = leaf_values(leaf)
        if not importance:
            return values, {}
        per_feature = tree_importance(nodes, features, len(values))
        return values, {names[i]: imp for i, imp in enumerate(per_feature)}
    outputs, total = _outputs(body, fields, importance)
    aggregator = _aggregator(body)
    return [aggregator.aggregate(aggregator.process(outputs))], total


def _outputs(ensemble: dict[str, Any], fields: dict[str, Any], importance: bool
             ) -> tuple[list[list[float]], dict[str, list[float]]]:
    """Each of an ensemble's models' raw output, and their importances summed per feature."""
    outputs, total = [], {}
    for model in ensemble.get("trained_models") or []:
        (kind, body), = model.items()
        value, own = _raw(kind, body, fields, importance)
        outputs.append(value)
        for name, imp in own.items():
            total[name] = [a + b for a, b in zip(total[name], imp)] if name in total else list(imp)
    return outputs, total


def _leaf_index(nodes: list[dict[str, Any]], features: list[float]) -> int:
    index = 0
    while is_inner(nodes[index]):
        index = next_child(nodes[index], features)
    return index


def _tree_probabilities(leaf: list[float], tree: dict[str, Any]) -> list[float]:
    """A classification tree's class probabilities: softmax of a multi-valued leaf, else
    certainty for the class its single value names."""
    if len(leaf) > 1:
        return soft_max(leaf)
    top = 0.0
    for node in tree.get("tree_structure") or []:
        if not is_inner(node):
            values = leaf_values(node)
            if len(values) > 1:
                top = float(len(values))
                break
            top = max(top, float(values[0]))
    probabilities = [0.0] * (int(top) + 1)
    probabilities[int(leaf[0])] = 1.0
    return probabilities


# --- aggregation ---------------------------------------------------------------------------

class _Aggregator:
    """An ensemble's `aggregate_output`: `process` combines the trees' outputs, `aggregate`
    reduces them to the final value."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.weights = [float(w) for w in spec["weights"]] if spec.get("weights") is not None else None
        self.num_classes = int(spec.get("num_classes") or 0)

    def _weight(self, i: int) -> float:
        return 1.0 if self.weights is None else self.weights[i]

    def process(self, values: list[list[float]]) -> list[float]:
        if self.weights is not None and len(values) != len(self.weights):
            raise illegal_argument("values must be the same length as weights.")
        if self.name in ("weighted_sum", "exponent"):
            return [v[0] * self._weight(i) for i, v in enumerate(values)]
        if self.name == "logistic_regression" or len(values[0]) > 1:
            sums = [0.0] * len(values[0])
            for i, value in enumerate(values):
                if len(value) > len(sums):
                    raise illegal_argument("value entries must have the same dimensions")
                for j, v in enumerate(value):
                    sums[j] += v * self._weight(i)
            if len(sums) > 1:
                return soft_max(sums)
            one = 1.0 / (1.0 + _exp(-sums[0]))
            return [1.0 - one, one]
        return self._mode(values)

    def _mode(self, values: list[list[float]]) -> list[float]:
        votes = []
        for value in values:
            if len(value) != 1:
                raise illegal_argument("value entries must have the same dimensions")
            v = value[0]
            if not math.isfinite(v) or v < 0 or v != math.floor(v):
                raise illegal_argument("values must be whole, non-infinite, and positive")
            votes.append(int(v))
        if max(votes) >= self.num_classes:
            raise illegal_argument(f"values contain entries larger than expected max of [{self.num_classes - 1}]")
        frequencies = [-math.inf] * self.num_classes
        for i, vote in enumerate(votes):
            seen = frequencies[vote] != -math.inf
            frequencies[vote] = frequencies[vote] + self._weight(i) if seen else self._weight(i)
        return soft_max(frequencies)

    def aggregate(self, values: list[float]) -> float:
        if self.name == "weighted_sum":
            if not values:
                raise illegal_argument("values must not be empty")
            return java_sum(values)
        if self.name == "exponent":
            return _exp(sum(v for v in values if math.isfinite(v)))
        best, best_value = 0, -math.inf
        for i, v in enumerate(values):
            if v > best_value:
                best, best_value = i, v
        return float(best)


def _exp(x: float) -> float:
    """Java's Math.exp: overflow is infinity, not an error."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _aggregator(ensemble: dict[str, Any]) -> _Aggregator:
    spec = ensemble.get("aggregate_output") or {"weighted_sum": {}}
    if isinstance(spec, list):
        spec = spec[0]
    (name, body), = spec.items()
    if name not in AGGREGATORS:
        raise ValueError(f"unknown aggregate_output [{name}]")
    return _Aggregator(name, body or {})


def java_sum(values: list[float]) -> float:
    """Java's DoubleStream.sum: Kahan-compensated, so the last digit matches ES's."""
    total = compensation = simple = 0.0
    for value in values:
        tmp = value - compensation
        velvel = total + tmp
        compensation = (velvel - total) - tmp
        total = velvel
        simple += value
    result = total - compensation
    return simple if math.isnan(result) and math.isinf(simple) else result


def soft_max(values: list[float]) -> list[float]:
    """ES's Statistics.softMax: NaN and infinite entries count as zero probability."""
    valid = [v for v in values if math.isfinite(v)]
    if not valid:
        raise illegal_argument("no valid values present")
    top = max(valid)
    exps = [math.exp(v - top) if math.isfinite(v) else math.nan for v in values]
    total = sum(e for e in exps if math.isfinite(e))
    return [e / total if math.isfinite(e) else 0.0 for e in exps]


# --- results -------------------------------------------------------------------------------

def _regression(value: float, settings: dict[str, Any], importance: dict[str, list[float]]) -> dict[str, Any]:
    result: dict[str, Any] = {settings.get("results_field") or DEFAULT_RESULTS_FIELD: json_double(value)}
    top = int(settings.get("num_top_feature_importance_values") or 0)
    if importance and top > 0:
        ranked = sorted(importance.items(), key=lambda kv: _descending(abs(kv[1][0])))[:top]
        result["feature_importance"] = [{"feature_name": name, "importance": json_double(imp[0])}
                                        for name, imp in ranked]
    return result


def _classification(probabilities: list[float], body: dict[str, Any], settings: dict[str, Any],
                    importance: dict[str, list[float]], weights: list[float] | None) -> dict[str, Any]:
    """ES's ClassificationInferenceResults map for a probability per class."""
    labels = body.get("classification_labels")
    if labels is not None and len(probabilities) != len(labels):
        raise status_error(
            500,
            f"model returned classification probabilities of size [{len(probabilities)}] which is not equal to "
            f"classification labels size [{len(labels)}]",
        )
    scores = probabilities if weights is None else [p * float(w) for p, w in zip(probabilities, weights)]
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: ties keep class order
    field_type = str(settings.get("prediction_field_type") or "string").strip().lower()
    names = [str(i) for i in range(len(probabilities))] if labels is None else [str(label) for label in labels]
    best = order[0]
    field = settings.get("results_field") or DEFAULT_RESULTS_FIELD
    result: dict[str, Any] = {field: _typed(best, names[best], field_type)}
    requested = int(settings.get("num_top_classes") or 0)
    if requested != 0:
        count = len(probabilities) if requested < 0 else min(requested, len(probabilities))
        result[settings.get("top_classes_results_field") or DEFAULT_TOP_CLASSES_FIELD] = [
            {"class_name": _typed(i, names[i], field_type), "class_probability": json_double(probabilities[i]),
             "class_score": json_double(scores[i])}
            for i in order[:count]
        ]
    result["prediction_probability"] = json_double(probabilities[best])
    result["prediction_score"] = json_double(scores[best])
    top = int(settings.get("num_top_feature_importance_values") or 0)
    if importance and top > 0:
        result["feature_importance"] = _class_importance(importance, labels, field_type, top)
    return result


def _class_importance(importance: dict[str, list[float]], labels: list[Any] | None, field_type: str,
                      top: int) -> list[dict[str, Any]]:
    entries = []
    for name, values in importance.items():
        if len(values) == 1:  # binary: the value pulls towards class 1, away from class 0
            pairs = [(0, -values[0]), (1, values[0])]
        else:
            pairs = list(enumerate(values))
        classes = [{"class_name": _typed(i, None if labels is None else str(labels[i]), field_type),
                    "importance": json_double(v)} for i, v in pairs]
        total = abs(pairs[0][1]) if len(pairs) == 2 else sum(abs(v) for _, v in pairs)
        entries.append((total, {"feature_name": name, "classes": classes}))
    entries.sort(key=lambda e: _descending(e[0]))
    return [entry for _, entry in entries[:top]]


def _descending(value: float) -> tuple[bool, float]:
    """A sort key for Java's descending Double.compare: NaN ranks above every number."""
    return (not math.isnan(value), -value if not math.isnan(value) else 0.0)


def json_double(value: float) -> float | str:
    """A double as ES's JSON writer emits it: NaN and infinities become strings."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _typed(index: int, label: str | None, field_type: str) -> Any:
    """A class as `prediction_field_type` writes it (ES's PredictionFieldType)."""
    if field_type == "number":
        return float(index)
    if field_type == "boolean":
        if index not in (0, 1):
            raise illegal_argument(
                f"Cannot transform numbers other than 0.0 or 1.0 to boolean. Provided number [{float(index)}]"
            )
        return index == 1
    return label if label is not None else str(float(index))
