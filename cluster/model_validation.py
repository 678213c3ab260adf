"""What Elasticsearch checks in an inline tree or ensemble definition, and what it derives.

ES validates a PUT's `definition` after parsing it: the trees' own rules (feature indices,
stumps, missing nodes, cycles, leaf shapes), that the definition's model type matches
`model_type`, and that the inference config supports the definition's target type. It also
estimates the operations one inference takes. All of it is pure: dicts in, an error or a
number out.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import MlError, status_error

DEFAULT_TARGET_TYPE = "regression"
#: Which definition target types each analytics inference config accepts.
SUPPORTED_TARGET_TYPES = {
    "regression": ("regression",),
    "classification": ("classification",),
    "learning_to_rank": ("regression",),
}


def _trained_model(definition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The definition's model kind (`tree` or `ensemble`) and its body ("" when neither)."""
    trained = definition.get("trained_model")
    if isinstance(trained, dict) and len(trained) == 1:
        kind, body = next(iter(trained.items()))
        if kind in ("tree", "ensemble") and isinstance(body, dict):
            return kind, body
    return "", {}


def target_type(definition: dict[str, Any]) -> str:
    _, body = _trained_model(definition)
    value = body.get("target_type")
    return value if isinstance(value, str) else DEFAULT_TARGET_TYPE


def definition_error(model_id: str, model_type: str | None, task_type: str, definition: dict[str, Any]) -> MlError | None:
    """ES's first complaint about an inline definition, in its order, or None."""
    kind, body = _trained_model(definition)
    if not kind:
        return None
    problem = _tree_problem(body) if kind == "tree" else _ensemble_problem(body)
    if problem is not None:
        return status_error(
            400, f"Definition for [{model_id}] has validation failures.", cause=status_error(400, problem)
        )
    if model_type not in (None, "tree_ensemble"):
        return status_error(400, f"model_type [{model_type}] does not match the model definition type [tree_ensemble]")
    target = target_type(definition)
    if target not in SUPPORTED_TARGET_TYPES.get(task_type, ()):
        return status_error(
            400,
            f"Model [{model_id}] inference config type [{task_type}] does not support definition target type "
            f"[{target}]",
        )
    return None


def estimated_operations(definition: dict[str, Any]) -> int:
    """Operations per inference: a tree's depth estimate plus its features; an ensemble's
    average tree plus two per extra model for aggregation."""
    kind, body = _trained_model(definition)
    if kind == "tree":
        return _tree_operations(body)
    models = [m.get("tree") for m in _list(body.get("trained_models")) if isinstance(m, dict)]
    costs = [_tree_operations(t) for t in models if isinstance(t, dict)]
    if not costs:
        return 0
    return math.ceil(sum(costs) / len(costs)) + 2 * (len(costs) - 1)


def _tree_operations(tree: dict[str, Any]) -> int:
    nodes = max(len(_list(tree.get("tree_structure"))), 1)
    return math.ceil(math.log(nodes)) + len(_list(tree.get("feature_names")))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ensemble_problem(ensemble: dict[str, Any]) -> str | None:
    models = _list(ensemble.get("trained_models"))
    if not models:
        return "[trained_models] must not be empty"
    if ensemble.get("target_type", DEFAULT_TARGET_TYPE) != "classification" and (
        "classification_labels" in ensemble or "classification_weights" in ensemble
    ):
        return (
            "[target_type] should be [classification] if [classification_labels] or [classification_weights] are "
            "provided"
        )
    labels, weights = ensemble.get("classification_labels"), ensemble.get("classification_weights")
    if isinstance(labels, list) and isinstance(weights, list) and len(labels) != len(weights):
        return "[classification_weights] and [classification_labels] should be the same length if both are provided"
    for model in models:
        tree = model.get("tree") if isinstance(model, dict) else None
        if isinstance(tree, dict):
            problem = _tree_problem(tree)
            if problem is not None:
                return problem
    return None


def _tree_problem(tree: dict[str, Any]) -> str | None:
    features = _list(tree.get("feature_names"))
    nodes = sorted((n for n in _list(tree.get("tree_structure")) if isinstance(n, dict)),
                   key=lambda n: _int(n.get("node_index"), 0))
    if not nodes:
        return "[tree_structure] must not be empty"
    if [_int(n.get("node_index"), -1) for n in nodes] != list(range(len(nodes))):
        return "[tree] cannot contain null nodes"
    max_feature = max(_int(n.get("split_feature"), -1) for n in nodes)
    if max_feature >= len(features):
        return f"feature index [{max_feature}] is out of bounds for the [feature_names] array"
    if len(nodes) > 1 and not features:
        return (
            f"[feature_names] is empty and the tree has > 1 nodes; num nodes [{len(nodes)}]. The model Must have "
            "features if tree is not a stump"
        )
    target = tree.get("target_type", DEFAULT_TARGET_TYPE)
    if "classification_labels" in tree and target != "classification":
        return "[target_type] should be [classification] if [classification_labels] are provided"
    leaf_sizes = [len(v) if isinstance(v, list) else 1 for n in nodes if _is_leaf(n) for v in [n.get("leaf_value")]]
    if target != "classification" and any(size > 1 for size in leaf_sizes):
        return "[target_type] should be [classification] if leaf nodes have multiple values"
    missing = [c for n in nodes for c in (_int(n.get("left_child"), -1), _int(n.get("right_child"), -1))
               if c >= len(nodes)]
    if missing:
        return f"[tree] contains missing nodes [{', '.join(map(str, missing))}]"
    cycle = _cycle_at(nodes)
    if cycle is not None:
        return f"[tree] contains cycle at node {cycle}"
    if len(set(leaf_sizes)) > 1:
        return "[tree.tree_structure] all leaf nodes must have the same number of values"
    return None


def _is_leaf(node: dict[str, Any]) -> bool:
    return _int(node.get("left_child"), -1) < 0


def _cycle_at(nodes: list[dict[str, Any]]) -> int | None:
    """The first node reached twice walking breadth-first from the root."""
    seen: set[int] = set()
    queue = [0]
    while queue:
        index = queue.pop(0)
        if index in seen:
            return index
        seen.add(index)
        node = nodes[index]
        queue += [c for c in (_int(node.get("left_child"), -1), _int(node.get("right_child"), -1)) if c >= 0]
    return None


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return int(value)
