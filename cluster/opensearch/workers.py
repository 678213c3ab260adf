"""Where each ml-commons model is loaded and serving right now.

ml-commons answers "which nodes serve this model" from its nodes' caches; here one map is
the truth, kept by the deployer and read by predict (routing, rate-limit buckets).
"""

from __future__ import annotations


class ModelWorkers:
    def __init__(self) -> None:
        self._nodes: dict[str, set[str]] = {}
        #: Grows whenever a model's worker set changes (caches built per worker set check it).
        self.generation: dict[str, int] = {}

    def nodes(self, model_id: str) -> list[str]:
        """The model's worker node ids, sorted."""
        return sorted(self._nodes.get(model_id, ()))

    def models(self) -> list[str]:
        """The models with at least one worker, sorted."""
        return sorted(self._nodes)

    def models_on(self, node_id: str) -> list[str]:
        return sorted(m for m, nodes in self._nodes.items() if node_id in nodes)

    def add(self, model_id: str, node_id: str) -> None:
        nodes = self._nodes.setdefault(model_id, set())
        if node_id not in nodes:
            nodes.add(node_id)
            self._bump(model_id)

    def remove(self, model_id: str, node_id: str) -> None:
        nodes = self._nodes.get(model_id)
        if nodes and node_id in nodes:
            nodes.discard(node_id)
            if not nodes:
                del self._nodes[model_id]
            self._bump(model_id)

    def drop_node(self, node_id: str) -> list[str]:
        """A node is gone: remove it from every model; returns the models it served."""
        served = self.models_on(node_id)
        for model_id in served:
            self.remove(model_id, node_id)
        return served

    def _bump(self, model_id: str) -> None:
        self.generation[model_id] = self.generation.get(model_id, 0) + 1
