"""What each node holds of ml-commons models (ml-commons' per-node model cache), and the
memory those models take from the pool Elasticsearch deployments place into.

A model's memory is ml-commons' own estimate of it (`MLModelCacheHelper`): its content size
× 1.2 for TORCH_SCRIPT, × 1.5 for ONNX, × 1 otherwise; remote and built-in models take
none. It is held from the moment a node starts loading until the node's process for it
has ended (a stopped or superseded load, an undeploy), or the node is gone.

The caches are also the one truth of which nodes serve a model (its workers: the nodes
holding it DEPLOYED, remote models included); `ModelWorkers` reads them, and `generation`
grows whenever a model's worker set changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

#: Route keys of ml-commons models on `MlNode`s: never an Elasticsearch deployment id.
ROUTE_KEY_PREFIX = "opensearch/"
#: Bytes per stored chunk (ml-commons' CHUNK_SIZE): register splits artifacts into them.
CHUNK_SIZE = 10_000_000
#: Algorithms whose models are loaded from chunks into native memory (`FunctionName.isDLModel`).
DL_FUNCTIONS = frozenset(
    {"TEXT_EMBEDDING", "SPARSE_ENCODING", "SPARSE_TOKENIZE", "TEXT_SIMILARITY", "QUESTION_ANSWERING"}
)
_FORMAT_SCALE = {"TORCH_SCRIPT": 1.2, "ONNX": 1.5}
DEPLOYING, DEPLOYED = "DEPLOYING", "DEPLOYED"


def route_key(model_id: str) -> str:
    return ROUTE_KEY_PREFIX + model_id


def model_of(key: str) -> str:
    return key[len(ROUTE_KEY_PREFIX):]


def content_bytes(doc: dict[str, Any]) -> int:
    """The model's stored size: `model_content_size_in_bytes`, else its chunks."""
    size = doc.get("model_content_size_in_bytes")
    if isinstance(size, int) and size >= 0:
        return size
    chunks = doc.get("total_chunks")
    return chunks * CHUNK_SIZE if isinstance(chunks, int) and chunks > 0 else 0


def memory_estimate(doc: dict[str, Any]) -> int:
    """Bytes a node holds for the model while it is loaded (0 for remote and built-in models)."""
    if doc.get("algorithm") not in DL_FUNCTIONS:
        return 0
    return int(content_bytes(doc) * _FORMAT_SCALE.get(doc.get("model_format", ""), 1.0))


@dataclass(slots=True)
class LocalModel:
    """One model in one node's cache: loading (DEPLOYING) or loaded (DEPLOYED)."""

    model_id: str
    function_name: str
    state: str
    memory_bytes: int
    task_id: str | None
    target_worker_nodes: list[str]
    #: `deploy_setting.model_ttl_minutes` when the node loaded it (< 0: never expires).
    ttl_minutes: float
    #: Simulated time of the last deploy or predict on this node (the TTL counts from it).
    last_access: float


class LocalModels:
    def __init__(self) -> None:
        self._nodes: dict[str, dict[str, LocalModel]] = {}
        #: Memory of models no longer in a cache whose node process has not ended yet.
        self._releasing: dict[tuple[str, str], int] = {}
        #: Grows whenever a model's worker set changes (caches built per worker set check it).
        self.generation: dict[str, int] = {}

    def get(self, node_id: str, model_id: str) -> LocalModel | None:
        return self._nodes.get(node_id, {}).get(model_id)

    def on_node(self, node_id: str) -> list[LocalModel]:
        return list(self._nodes.get(node_id, {}).values())

    def loading_on(self, node_id: str) -> int:
        """Loads in progress on the node (its running deploy tasks)."""
        return sum(1 for local in self._nodes.get(node_id, {}).values() if local.state == DEPLOYING)

    def workers(self, model_id: str) -> list[str]:
        """The nodes serving the model (holding it DEPLOYED), sorted."""
        return sorted(
            node_id for node_id, models in self._nodes.items()
            if (local := models.get(model_id)) is not None and local.state == DEPLOYED
        )

    def served(self) -> list[str]:
        """The models with at least one worker, sorted."""
        return sorted({local.model_id for _, local in self if local.state == DEPLOYED})

    def __iter__(self) -> Iterator[tuple[str, LocalModel]]:
        for node_id, models in list(self._nodes.items()):
            for local in list(models.values()):
                yield node_id, local

    def __bool__(self) -> bool:
        return any(self._nodes.values()) or bool(self._releasing)

    def put(self, node_id: str, local: LocalModel) -> None:
        """A new load replaces whatever process the node still ran for the model."""
        self._releasing.pop((node_id, local.model_id), None)
        before = self._nodes.setdefault(node_id, {}).get(local.model_id)
        self._nodes[node_id][local.model_id] = local
        if DEPLOYED in (local.state, before.state if before is not None else None):
            self._bump(local.model_id)

    def mark_deployed(self, local: LocalModel) -> None:
        """The node's load of the model completed: the node serves it from now on."""
        if local.state != DEPLOYED:
            local.state = DEPLOYED
            self._bump(local.model_id)

    def remove(self, node_id: str, model_id: str, release_now: bool) -> LocalModel | None:
        """Take the model out of the node's cache; its memory goes now or when the node's
        process has ended (`released`)."""
        local = self._nodes.get(node_id, {}).pop(model_id, None)
        if local is not None and not release_now and local.memory_bytes:
            self._releasing[(node_id, model_id)] = local.memory_bytes
        if local is not None and local.state == DEPLOYED:
            self._bump(model_id)
        return local

    def released(self, node_id: str, model_id: str) -> int:
        """The node's process for the model ended; returns the bytes freed."""
        return self._releasing.pop((node_id, model_id), 0)

    def drop_node(self, node_id: str) -> list[LocalModel]:
        """The node is gone with everything it held."""
        for key in [k for k in self._releasing if k[0] == node_id]:
            del self._releasing[key]
        dropped = list(self._nodes.pop(node_id, {}).values())
        for local in dropped:
            if local.state == DEPLOYED:
                self._bump(local.model_id)
        return dropped

    def memory_on(self, node_id: str) -> int:
        if not self._releasing and node_id not in self._nodes:  # asked per node per plan
            return 0
        held = sum(local.memory_bytes for local in self._nodes.get(node_id, {}).values())
        return held + sum(b for (n, _), b in self._releasing.items() if n == node_id)

    def _bump(self, model_id: str) -> None:
        self.generation[model_id] = self.generation.get(model_id, 0) + 1
