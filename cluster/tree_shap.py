"""TreeSHAP feature importance for one tree and one document, as Elasticsearch computes it.

ES (following ml-cpp's CTreeShapFeatureImportance) walks every path of the tree, weighting
the branch the document takes ("hot") and the other one ("cold") by the training samples
that reached each node (`number_samples`), and credits each feature on the path with its
share of the leaf value. Pure arithmetic on the node list.
"""

from __future__ import annotations

import math
from typing import Any

from .tree_nodes import is_inner, leaf_values, next_child

_EPSILON = math.ulp(1.0)


class _Path:
    """The features met on the way from the root, with the binomial weights of Equation (2)
    of Lundberg et al.; copied at each node so siblings do not see each other's changes."""

    def __init__(self, length: int) -> None:
        self.ones = [0.0] * length
        self.zeros = [0.0] * length
        self.features = [-1] * length
        self.scale = [0.0] * length
        self.size = 0

    def copy(self) -> _Path:
        other = _Path(0)
        other.ones, other.zeros = list(self.ones), list(self.zeros)
        other.features, other.scale, other.size = list(self.features), list(self.scale), self.size
        return other

    @property
    def depth(self) -> int:
        return self.size - 1

    def extend(self, feature: int, zero: float, one: float) -> None:
        if self.size < len(self.scale):
            self.features[self.size], self.zeros[self.size], self.ones[self.size] = feature, zero, one
            self.scale[self.size] = 1.0 if self.size == 0 else 0.0
            self.size += 1
        depth = self.depth
        for i in range(depth - 1, -1, -1):
            self.scale[i + 1] += one * self.scale[i] * (i + 1.0) / (depth + 1.0)
            self.scale[i] = zero * self.scale[i] * (depth - i) / (depth + 1.0)

    def unwound_sum(self, index: int) -> float:
        total, depth = 0.0, self.depth
        following, one, zero = self.scale[depth], self.ones[index], self.zeros[index]
        for i in range(depth - 1, -1, -1):
            if one != 0:
                tmp = following * (depth + 1) / ((i + 1) * one + _EPSILON)
                following = self.scale[i] - tmp * zero * (depth - i) / (depth + 1)
                total += tmp
            else:
                total += self.scale[i] * (depth + 1) / (zero * (depth - i) + _EPSILON)
        return total

    def unwind(self, index: int) -> None:
        depth = self.depth
        following, one, zero = self.scale[depth], self.ones[index], self.zeros[index]
        for i in range(depth - 1, -1, -1):
            if one != 0:
                tmp = following * (depth + 1) / ((i + 1) * one)
                following = self.scale[i] - tmp * zero * (depth - i) / (depth + 1)
                self.scale[i] = tmp
            else:
                self.scale[i] = _divide(self.scale[i] * (depth + 1), zero * (depth - i))
        for i in range(index, depth):
            self.features[i], self.zeros[i], self.ones[i] = self.features[i + 1], self.zeros[i + 1], self.ones[i + 1]
        self.size -= 1

    def find(self, feature: int) -> int:
        return next((i for i in range(self.size) if self.features[i] == feature), -1)


def tree_importance(nodes: list[dict[str, Any]], features: list[float], width: int) -> list[list[float]]:
    """Each feature's importance (one value per leaf entry) for the document `features`;
    `nodes` are ordered by `node_index`."""
    importance = [[0.0] * width for _ in features]
    depth = _depth(nodes, 0)
    length = (depth + 1) * (depth + 2) // 2

    def walk(path: _Path, index: int, zero: float, one: float, feature: int) -> None:
        path = path.copy()
        path.extend(feature, zero, one)
        node = nodes[index]
        if not is_inner(node):
            leaf = leaf_values(node)
            for i in range(1, path.size):
                scaled = path.unwound_sum(i) * (path.ones[i] - path.zeros[i])
                for j, value in enumerate(leaf[:width]):
                    importance[path.features[i]][j] += scaled * value
            return
        hot = next_child(node, features)
        cold = int(node["right_child"]) if hot == int(node["left_child"]) else int(node["left_child"])
        split = int(node.get("split_feature", -1))
        incoming_zero = incoming_one = 1.0
        found = path.find(split)
        if found > -1:
            incoming_zero, incoming_one = path.zeros[found], path.ones[found]
            path.unwind(found)
        samples = float(node.get("number_samples", 0))
        walk(path, hot, incoming_zero * _divide(float(nodes[hot].get("number_samples", 0)), samples), incoming_one,
             split)
        walk(path, cold, incoming_zero * _divide(float(nodes[cold].get("number_samples", 0)), samples), 0.0, split)

    walk(_Path(length), 0, 1.0, 1.0, -1)
    return importance


def _depth(nodes: list[dict[str, Any]], index: int) -> int:
    node = nodes[index]
    if not is_inner(node):
        return 0
    return max(_depth(nodes, int(node["left_child"])), _depth(nodes, int(node["right_child"]))) + 1


def _divide(a: float, b: float) -> float:
    """Java's double division: x/0 is NaN or an infinity rather than an error."""
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b
