"""Model documents for deploy tests, written straight into `.plugins-ml-model` (as the
register API leaves them), nodes' caches holding a model DEPLOYED (`serve`), and small
readers of what deploys change."""

from __future__ import annotations

from typing import Any

from cluster.cluster import Cluster
from cluster.opensearch.documents import MODEL_INDEX
from cluster.opensearch.local_models import DEPLOYED, LocalModel

#: 500 MB of TORCH_SCRIPT: ml-commons estimates 600 MB of memory; with the default timing
#: (2 s process start, 100 MiB/s) a node loads it in about 6.8 s.
MODEL_BYTES = 500_000_000
MODEL_MEMORY = 600_000_000
LOAD_SECONDS = 2 + MODEL_BYTES / (100 * 1024 * 1024)
BREAKER = "Native Memory Circuit Breaker is open, please check your resources!"


def local_model(cluster: Cluster, model_id: str = "local-1", size: int = MODEL_BYTES, **fields: Any) -> str:
    doc = {
        "name": model_id, "algorithm": "TEXT_EMBEDDING", "model_format": "TORCH_SCRIPT",
        "model_state": "REGISTERED", "model_content_size_in_bytes": size, "is_enabled": True,
        "model_config": {"model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers"},
        **fields,
    }
    cluster.ml_commons.store[MODEL_INDEX].index(model_id, doc)
    return model_id


def remote_model(cluster: Cluster, model_id: str = "remote-1", **fields: Any) -> str:
    doc = {"name": model_id, "algorithm": "REMOTE", "model_state": "REGISTERED", "is_enabled": True, **fields}
    cluster.ml_commons.store[MODEL_INDEX].index(model_id, doc)
    return model_id


def serve(cluster: Cluster, model_id: str, node_ids: list[str]) -> None:
    """Mark the stored model DEPLOYED in these nodes' caches, as a completed deploy leaves it
    (no memory held, no process on the node, no TTL): for states the APIs reach only slowly."""
    ml = cluster.ml_commons
    algorithm = ml.store[MODEL_INDEX].get(model_id).get("algorithm", "")
    for node_id in node_ids:
        ml.deployer.local.put(node_id, LocalModel(model_id, algorithm, DEPLOYED, 0, None, list(node_ids), -1, ml.env.now))


def model(cluster: Cluster, model_id: str) -> dict[str, Any]:
    return cluster.ml_commons.store[MODEL_INDEX].get(model_id)


def task(cluster: Cluster, task_id: str) -> dict[str, Any]:
    return cluster.ml_commons.tasks.get(task_id)
