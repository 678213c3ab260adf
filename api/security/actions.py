"""The transport action each REST route runs, by method and route pattern: the name a
refusal quotes and privileges are checked against (Elasticsearch's and ml-commons' own
action names; `/_sim` routes get `cluster:{monitor,admin}/mlsim/...` names)."""

from __future__ import annotations

ML = "/_ml/trained_models"
OS = "/_plugins/_ml"
OS_ML = "cluster:admin/opensearch/ml"

_ES: dict[tuple[str, str], str] = {
    ("GET", "/"): "cluster:monitor/main",
    ("GET", ML): "cluster:monitor/xpack/ml/inference/get",
    ("GET", ML + "/{model_id}"): "cluster:monitor/xpack/ml/inference/get",
    ("GET", ML + "/_stats"): "cluster:monitor/xpack/ml/inference/stats/get",
    ("GET", ML + "/{model_id}/_stats"): "cluster:monitor/xpack/ml/inference/stats/get",
    ("PUT", ML + "/{model_id}"): "cluster:admin/xpack/ml/inference/put",
    ("DELETE", ML + "/{model_id}"): "cluster:admin/xpack/ml/inference/delete",
    ("PUT", ML + "/{model_id}/definition/{part}"): "cluster:admin/xpack/ml/trained_models/part/put",
    ("PUT", ML + "/{model_id}/vocabulary"): "cluster:admin/xpack/ml/trained_models/vocabulary/put",
    ("PUT", ML + "/{model_id}/model_aliases/{model_alias}"): "cluster:admin/xpack/ml/inference/model_aliases/put",
    ("DELETE", ML + "/{model_id}/model_aliases/{model_alias}"): "cluster:admin/xpack/ml/inference/model_aliases/delete",
    ("POST", ML + "/{model_id}/deployment/_start"): "cluster:admin/xpack/ml/trained_models/deployment/start",
    ("POST", ML + "/{model_id}/deployment/_stop"): "cluster:admin/xpack/ml/trained_models/deployment/stop",
    ("POST", ML + "/{model_id}/deployment/_update"): "cluster:admin/xpack/ml/trained_models/deployment/update",
    ("POST", ML + "/{model_id}/deployment/cache/_clear"): "cluster:admin/xpack/ml/trained_models/deployment/clear_cache",
    ("POST", ML + "/{model_id}/_infer"): "cluster:monitor/xpack/ml/inference/infer",
    ("POST", ML + "/{model_id}/deployment/_infer"): "cluster:monitor/xpack/ml/inference/infer",
    ("GET", "/_cat/ml/trained_models"): "cluster:monitor/xpack/ml/inference/get",
    ("GET", "/_cat/ml/trained_models/{model_id}"): "cluster:monitor/xpack/ml/inference/get",
    ("GET", "/_ingest/pipeline"): "cluster:admin/ingest/pipeline/get",
    ("GET", "/_ingest/pipeline/{id}"): "cluster:admin/ingest/pipeline/get",
    ("PUT", "/_ingest/pipeline/{id}"): "cluster:admin/ingest/pipeline/put",
    ("DELETE", "/_ingest/pipeline/{id}"): "cluster:admin/ingest/pipeline/delete",
    **{(m, path): "cluster:admin/ingest/pipeline/simulate"
       for m in ("GET", "POST") for path in ("/_ingest/pipeline/_simulate", "/_ingest/pipeline/{id}/_simulate")},
    ("GET", "/_ml/info"): "cluster:monitor/xpack/ml/info/get",
    ("GET", "/_ml/memory/_stats"): "cluster:monitor/xpack/ml/memory/stats/get",
    ("GET", "/_ml/memory/{node_id}/_stats"): "cluster:monitor/xpack/ml/memory/stats/get",
    **{("GET", path): "cluster:monitor/nodes/info" for path in ("/_nodes", "/_nodes/{target}", "/_nodes/{node_id}/{metric}")},
    **{("GET", path): "cluster:monitor/nodes/stats" for path in (
        "/_nodes/stats", "/_nodes/stats/{metric}", "/_nodes/{node_id}/stats", "/_nodes/{node_id}/stats/{metric}", "/_cat/nodes")},
    ("GET", "/_cluster/health"): "cluster:monitor/health",
    ("GET", "/_cluster/health/{index}"): "cluster:monitor/health",
    **{(m, path): "indices:data/write/bulk" for m in ("POST", "PUT") for path in ("/_bulk", "/{index}/_bulk")},
    **{("PUT", path): "cluster:admin/xpack/inference/put" for path in ("/_inference/{inference_id}", "/_inference/{task_type}/{inference_id}")},
    **{(m, path + "/_update"): "cluster:admin/xpack/inference/update"
       for m in ("POST", "PUT") for path in ("/_inference/{inference_id}", "/_inference/{task_type}/{inference_id}")},
    **{("GET", path): "cluster:monitor/xpack/inference/get"
       for path in ("/_inference", "/_inference/{inference_id}", "/_inference/{task_type}/{inference_id}")},
    **{("POST", path): "cluster:monitor/xpack/inference" for path in ("/_inference/{inference_id}", "/_inference/{task_type}/{inference_id}")},
    **{("DELETE", path): "cluster:admin/xpack/inference/delete"
       for path in ("/_inference/{inference_id}", "/_inference/{task_type}/{inference_id}")},
    ("PUT", "/_autoscaling/policy/{name}"): "cluster:admin/autoscaling/put_autoscaling_policy",
    ("GET", "/_autoscaling/policy/{name}"): "cluster:admin/autoscaling/get_autoscaling_policy",
    ("DELETE", "/_autoscaling/policy/{name}"): "cluster:admin/autoscaling/delete_autoscaling_policy",
    ("GET", "/_autoscaling/capacity"): "cluster:monitor/autoscaling/get_autoscaling_capacity",
    ("GET", "/_features"): "cluster:admin/features/get",
    ("POST", "/_features/_reset"): "cluster:admin/features/reset",
}

_OS: dict[tuple[str, str], str] = {
    ("POST", OS + "/model_groups/_register"): f"{OS_ML}/register_model_group",
    ("POST", OS + "/model_groups/_search"): f"{OS_ML}/model_groups/search",
    ("GET", OS + "/model_groups/_search"): f"{OS_ML}/model_groups/search",
    ("GET", OS + "/model_groups/{model_group_id}"): f"{OS_ML}/model_groups/get",
    ("PUT", OS + "/model_groups/{model_group_id}"): f"{OS_ML}/update_model_group",
    ("DELETE", OS + "/model_groups/{model_group_id}"): f"{OS_ML}/model_groups/delete",
    ("POST", OS + "/connectors/_create"): f"{OS_ML}/create_connector",
    ("POST", OS + "/connectors/_search"): f"{OS_ML}/connectors/search",
    ("GET", OS + "/connectors/_search"): f"{OS_ML}/connectors/search",
    ("GET", OS + "/connectors/{connector_id}"): f"{OS_ML}/connectors/get",
    ("PUT", OS + "/connectors/{connector_id}"): f"{OS_ML}/connectors/update",
    ("DELETE", OS + "/connectors/{connector_id}"): f"{OS_ML}/connectors/delete",
    ("POST", OS + "/models/_upload"): f"{OS_ML}/register_model",
    ("POST", OS + "/models/_register"): f"{OS_ML}/register_model",
    ("POST", OS + "/models/_search"): f"{OS_ML}/models/search",
    ("POST", OS + "/models/_register_meta"): f"{OS_ML}/register_model_meta",
    ("POST", OS + "/models/meta"): f"{OS_ML}/register_model_meta",
    ("POST", OS + "/models/{model_id}/upload_chunk/{chunk_number}"): f"{OS_ML}/upload_model_chunk",
    ("POST", OS + "/models/{model_id}/chunk/{chunk_number}"): f"{OS_ML}/upload_model_chunk",
    ("GET", OS + "/models/_search"): f"{OS_ML}/models/search",
    ("GET", OS + "/models/{model_id}"): f"{OS_ML}/models/get",
    ("DELETE", OS + "/models/{model_id}"): f"{OS_ML}/models/delete",
    ("PUT", OS + "/models/{model_id}"): f"{OS_ML}/models/update",
    ("POST", OS + "/models/_unload"): f"{OS_ML}/undeploy_models",
    ("POST", OS + "/models/_undeploy"): f"{OS_ML}/undeploy_models",
    ("POST", OS + "/models/{model_id}/_load"): f"{OS_ML}/deploy_model",
    ("POST", OS + "/models/{model_id}/_deploy"): f"{OS_ML}/deploy_model",
    ("POST", OS + "/models/{model_id}/_unload"): f"{OS_ML}/undeploy_models",
    ("POST", OS + "/models/{model_id}/_undeploy"): f"{OS_ML}/undeploy_models",
    ("POST", OS + "/models/{model_id}/_predict"): f"{OS_ML}/predict",
    ("POST", OS + "/_predict/{algorithm}/{model_id}"): f"{OS_ML}/predict",
    ("POST", OS + "/models/{model_id}/_batch_predict"): f"{OS_ML}/predict",
    ("POST", OS + "/models/{model_id}/_predict/stream"): f"{OS_ML}/predict/stream",
    ("POST", OS + "/_train/{algorithm}"): f"{OS_ML}/train",
    ("POST", OS + "/_train_predict/{algorithm}"): f"{OS_ML}/trainAndPredict",
    ("POST", OS + "/_execute/{algorithm}"): f"{OS_ML}/execute",
    ("POST", OS + "/tasks/{task_id}/_cancel"): f"{OS_ML}/tasks/cancel",
    ("POST", OS + "/tasks/_search"): f"{OS_ML}/tasks/search",
    ("GET", OS + "/tasks/_search"): f"{OS_ML}/tasks/search",
    ("GET", OS + "/tasks/{task_id}"): f"{OS_ML}/tasks/get",
    ("DELETE", OS + "/tasks/{task_id}"): f"{OS_ML}/tasks/delete",
    ("POST", OS + "/controllers/{model_id}"): f"{OS_ML}/controllers/create",
    ("PUT", OS + "/controllers/{model_id}"): f"{OS_ML}/controllers/update",
    ("GET", OS + "/controllers/{model_id}"): f"{OS_ML}/controllers/get",
    ("DELETE", OS + "/controllers/{model_id}"): f"{OS_ML}/controllers/delete",
    ("PUT", "/_cluster/settings"): "cluster:admin/settings/update",
    ("GET", "/_cluster/settings"): "cluster:monitor/state",
    ("PUT", "/{index}"): "indices:admin/create",
    ("POST", "/{index}/_doc/{doc_id}"): "indices:data/write/index",
    ("PUT", "/{index}/_doc/{doc_id}"): "indices:data/write/index",
    ("POST", "/{index}/_doc"): "indices:data/write/index",
    ("GET", "/{index}/_doc/{doc_id}"): "indices:data/read/get",
    ("DELETE", "/{index}/_doc/{doc_id}"): "indices:data/write/delete",
    ("POST", "/{index}/_search"): "indices:data/read/search",
    **{(m, path): "indices:data/read/search" for m in ("GET", "POST") for path in ("/_search", "/_all/_search")},
    ("GET", "/{index}/_search"): "indices:data/read/search",
    ("GET", "/{index}"): "indices:admin/get",
    ("PUT", "/{index}/_settings"): "indices:admin/settings/update",
    ("GET", "/{index}/_settings"): "indices:monitor/settings/get",
}

_VERBS = {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "DELETE": "delete"}


def action_of(method: str, route: str) -> str | None:
    """The action `method` on the route pattern `route` runs (None: not a known route)."""
    method = "GET" if method == "HEAD" else method
    if route.startswith(OS + "/profile"):
        return f"{OS_ML}/profile/nodes"
    if route.startswith(OS + "/") and "/stats" in route:
        return f"{OS_ML}/stats/nodes"
    if route == "/_sim" or route.startswith("/_sim/"):
        return sim_action(method, route)
    return _ES.get((method, route)) or _OS.get((method, route))


def sim_action(method: str, route: str) -> str:
    """`POST /_sim/clock/_advance` -> `cluster:admin/mlsim/clock/advance`; a route that ends
    in a name or an id takes the method as its verb (`DELETE /_sim/nodes/{id}` -> `.../nodes/delete`)."""
    parts = [p for p in route.split("/")[2:] if p and not p.startswith("{")]
    last = route.rstrip("/").split("/")[-1]
    words = [p.lstrip("_") for p in parts]
    if not last.startswith("_"):
        words.append(_VERBS.get(method, method.lower()))
    kind = "monitor" if method in ("GET", "HEAD") else "admin"
    return f"cluster:{kind}/mlsim/" + "/".join(words)
