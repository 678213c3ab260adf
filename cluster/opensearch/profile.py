"""The body of `GET /_plugins/_ml/profile[/models|/tasks]`: what each node's caches hold.

Every node knows the routing table (`worker_nodes`) of each model with workers; a node
that loads or serves a model also has its state, target nodes, predictor, memory estimate
and predict latencies; a node still loading for a deploy task holds that task. The node
view lists this per node, the model view (`?view=model`) per model.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .local_models import DL_FUNCTIONS

if TYPE_CHECKING:
    from .service import MlCommons

_PREDICTOR_CLASS = {
    "TEXT_EMBEDDING": "org.opensearch.ml.engine.algorithms.text_embedding.TextEmbeddingDenseModel",
    "SPARSE_ENCODING": "org.opensearch.ml.engine.algorithms.sparse_encoding.TextEmbeddingSparseEncodingModel",
    "SPARSE_TOKENIZE": "org.opensearch.ml.engine.algorithms.sparse_encoding.SparseTokenizerModel",
    "TEXT_SIMILARITY": "org.opensearch.ml.engine.algorithms.text_similarity.TextSimilarityCrossEncoderModel",
    "QUESTION_ANSWERING": "org.opensearch.ml.engine.algorithms.question_answering.QuestionAnsweringModel",
    "REMOTE": "org.opensearch.ml.engine.algorithms.remote.RemoteModel",
}


@dataclass
class ProfileRequest:
    """`MLProfileInput`: the body's fields, or what the path implies."""

    model_ids: set[str] = field(default_factory=set)
    task_ids: set[str] = field(default_factory=set)
    node_ids: set[str] = field(default_factory=set)
    return_all_models: bool = False
    return_all_tasks: bool = False


def predictor_name(algorithm: str, model_id: str, node_id: str) -> str:
    """Java's `toString()` of the node's predictor: class name @ a stable hash."""
    cls = _PREDICTOR_CLASS.get(algorithm, "org.opensearch.ml.engine.algorithms.MLModel")
    return f"{cls}@{zlib.crc32(f'{model_id}/{node_id}'.encode('utf-8', 'surrogatepass')):x}"


def profile(ml: MlCommons, request: ProfileRequest, view: str = "node") -> dict[str, Any]:
    nodes = {}
    for node_id in ml.deployer.cluster_nodes():
        if request.node_ids and node_id not in request.node_ids:
            continue
        tasks, models = _node_tasks(ml, node_id, request), _node_models(ml, node_id, request)
        if tasks or models:
            nodes[node_id] = {"tasks": tasks, "models": models}
    if not nodes:
        return {}
    if view == "node":
        return {"nodes": {n: {k: v for k, v in part.items() if v} for n, part in nodes.items()}}
    if view == "model":
        return {"models": _by_model(ml, nodes)}
    return {}


def _node_tasks(ml: MlCommons, node_id: str, request: ProfileRequest) -> dict[str, Any]:
    tasks = {}
    for task_id, run in ml.deployer.runs.items():
        if node_id not in run.pending:
            continue
        if request.return_all_tasks or task_id in request.task_ids or run.model_id in request.model_ids:
            tasks[task_id] = ml.tasks.get(task_id)
    return tasks


def _node_models(ml: MlCommons, node_id: str, request: ProfileRequest) -> dict[str, Any]:
    cached = [m.model_id for m in ml.deployer.local.on_node(node_id)]
    models = {}
    for model_id in dict.fromkeys(cached + ml.workers.models()):
        if request.return_all_models or model_id in request.model_ids:
            models[model_id] = model_profile(ml, node_id, model_id)
    return models


def model_profile(ml: MlCommons, node_id: str, model_id: str) -> dict[str, Any]:
    """`MLModelProfile` of one model in one node's cache."""
    local = ml.deployer.local.get(node_id, model_id)
    body: dict[str, Any] = {}
    if local is not None:
        body["model_state"] = local.state
        if local.state == "DEPLOYED":
            body["predictor"] = predictor_name(local.function_name, model_id, node_id)
        if local.target_worker_nodes:
            body["target_worker_nodes"] = list(local.target_worker_nodes)
    workers = ml.workers.nodes(model_id)
    if workers:
        body["worker_nodes"] = workers
    stats = ml.stats.predict_request_stats(node_id, model_id)
    if stats is not None:
        body["predict_request_stats"] = stats
    if local is not None and local.state == "DEPLOYED" and local.function_name in DL_FUNCTIONS:
        body["memory_size_estimation_cpu"] = local.memory_bytes
        body["memory_size_estimation_gpu"] = local.memory_bytes
    return body


def _by_model(ml: MlCommons, nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The model view: target and worker nodes once per model, the rest per node."""
    models: dict[str, dict[str, Any]] = {}
    for node_id, part in nodes.items():
        for model_id, prof in part["models"].items():
            entry = models.setdefault(model_id, {"nodes": {}, "tasks": {}})
            if "target_worker_nodes" not in entry or "worker_nodes" not in entry:
                for key in ("target_worker_nodes", "worker_nodes"):
                    if key in prof:
                        entry[key] = prof[key]
            entry["nodes"][node_id] = {
                k: v for k, v in prof.items() if k not in ("target_worker_nodes", "worker_nodes")
            }
        for task_id, task in part["tasks"].items():
            entry = models.setdefault(task["model_id"], {"nodes": {}, "tasks": {}})
            entry["tasks"][task_id] = task
    ordered = {}
    for model_id, entry in models.items():
        ordered[model_id] = {
            **{k: entry[k] for k in ("target_worker_nodes", "worker_nodes") if k in entry},
            **{k: entry[k] for k in ("nodes", "tasks") if entry[k]},
        }
    return ordered
