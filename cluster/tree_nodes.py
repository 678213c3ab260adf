"""One tree node's rules as Elasticsearch applies them: leaf or split, and which child a
document's features lead to (shared by the tree walk and its SHAP importance)."""

from __future__ import annotations

import math
from typing import Any, Callable

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def is_inner(node: dict[str, Any]) -> bool:
    """A node with a left child splits; any other node is a leaf."""
    return int(node.get("left_child", -1)) >= 0


def leaf_values(node: dict[str, Any]) -> list[float]:
    """A leaf's value(s): one for regression, one per class for multi-valued leaves."""
    value = node.get("leaf_value", [])
    return [float(v) for v in (value if isinstance(value, list) else [value])]


def next_child(node: dict[str, Any], features: list[float]) -> int:
    """The child a document goes to: `default_left` decides for a missing (NaN or infinite)
    value, otherwise `decision_type` (default `lte`) compares it with `threshold`."""
    feature = features[int(node.get("split_feature", -1))]
    if not math.isfinite(feature):
        return int(node["left_child"] if node.get("default_left", False) else node["right_child"])
    threshold = float(node.get("threshold", math.nan))
    test = _COMPARE[str(node.get("decision_type", "lte"))]
    return int(node["left_child"] if test(feature, threshold) else node["right_child"])
