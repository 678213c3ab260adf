"""The body of `POST /_plugins/_ml/models/_register`, read as `MLRegisterModelInput` reads it.

Field kinds and the constructor's required-field errors ("model name is null", "model format
is null", "model config is null") come first; what needs the cluster (groups, connectors,
nodes) is checked by `Models.register`. Unknown fields are skipped, as in ml-commons.
`model_content_size_in_bytes` is the simulator's: the size of the artifact a `url` points to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import xcontent
from .errors import illegal_argument
from .model_groups import access_mode_of
from .pretrained import with_space_type
from .rate_limiter import JsonFields, RateLimiter

#: ml-commons' `FunctionName` values.
FUNCTION_NAMES = (
    "LINEAR_REGRESSION", "KMEANS", "AD_LIBSVM", "SAMPLE_ALGO", "LOCAL_SAMPLE_CALCULATOR", "FIT_RCF", "BATCH_RCF",
    "ANOMALY_LOCALIZATION", "RCF_SUMMARIZE", "LOGISTIC_REGRESSION", "TEXT_EMBEDDING", "METRICS_CORRELATION",
    "REMOTE", "SPARSE_ENCODING", "SPARSE_TOKENIZE", "TEXT_SIMILARITY", "QUESTION_ANSWERING", "AGENT", "CONNECTOR",
)
MODEL_FORMATS = ("ONNX", "TORCH_SCRIPT")
FRAMEWORK_TYPES = ("HUGGINGFACE_TRANSFORMERS", "SENTENCE_TRANSFORMERS", "HUGGINGFACE_TRANSFORMERS_NEURON")
POOLING_MODES = ("MEAN", "MEAN_SQRT_LEN", "MAX", "WEIGHTED_MEAN", "CLS", "LAST_TOKEN")
#: Functions whose models need no `model_config` even when registered from a url.
CONFIG_OPTIONAL = ("SPARSE_TOKENIZE", "SPARSE_ENCODING")


@dataclass
class RegisterInput:
    function_name: str
    name: str
    model_group_id: str | None = None
    version: str | None = None
    description: str | None = None
    is_enabled: bool | None = None
    rate_limiter: dict[str, str] | None = None
    url: str | None = None
    hash_value: str | None = None
    model_format: str | None = None
    model_config: dict[str, Any] | None = None
    deploy_setting: dict[str, Any] | None = None
    model_node_ids: list[str] | None = None
    connector: dict[str, Any] | None = None
    connector_id: str | None = None
    backend_roles: list[str] | None = None
    add_all_backend_roles: bool | None = None
    access_mode: str | None = None
    guardrails: dict[str, Any] | None = None
    interface: dict[str, str] | None = None
    size_bytes: int | None = None

    @property
    def is_remote(self) -> bool:
        return self.function_name == "REMOTE"


def parse_register_input(body: Mapping[str, Any], validate_connector: Callable[[Any], dict[str, Any]],
                         text: str | None = None) -> RegisterInput:
    """Read a register body; raises ml-commons' errors for wrong kinds and missing fields.
    `text`, the body as sent, places the positions in rate limiter parse errors."""
    function_name = xcontent.text(body, "function_name")
    if function_name is not None and function_name.upper() not in FUNCTION_NAMES:
        raise illegal_argument("Wrong function name")
    model_format = xcontent.text(body, "model_format")
    if model_format is not None and model_format.upper() not in MODEL_FORMATS:
        raise illegal_argument("Wrong model format")
    config = xcontent.obj(body, "model_config")
    # `MLRateLimiter.parse`, as the update API reads it.
    rate_limiter = None if "rate_limiter" not in body else RateLimiter.parse(
        body["rate_limiter"], JsonFields(body, text), "rate_limiter")
    deploy_setting = xcontent.obj(body, "deploy_setting")
    connector = body.get("connector")
    parsed = RegisterInput(
        function_name=(function_name or "TEXT_EMBEDDING").upper(),
        name=xcontent.text(body, "name"),  # type: ignore[arg-type]  # checked just below
        model_group_id=xcontent.text(body, "model_group_id"),
        version=xcontent.text(body, "version"),
        description=xcontent.text(body, "description"),
        is_enabled=xcontent.boolean(body, "is_enabled"),
        rate_limiter=None if rate_limiter is None else rate_limiter.to_doc(),
        url=xcontent.text(body, "url"),
        hash_value=xcontent.text(body, "model_content_hash_value"),
        model_format=None if model_format is None else model_format.upper(),
        deploy_setting=None if deploy_setting is None else parse_deploy_setting(deploy_setting),
        model_node_ids=xcontent.string_list(body, "model_node_ids"),
        connector=None if connector is None else validate_connector(connector),
        connector_id=xcontent.text(body, "connector_id"),
        backend_roles=xcontent.string_list(body, "backend_roles"),
        add_all_backend_roles=xcontent.boolean(body, "add_all_backend_roles"),
        access_mode=access_mode_of(body, lowercase=False),
        guardrails=xcontent.obj(body, "guardrails"),
        interface=parse_interface(body),
        size_bytes=xcontent.integer(body, "model_content_size_in_bytes"),
    )
    # The constructor's checks.
    if parsed.name is None:
        raise illegal_argument("model name is null")
    if not parsed.is_remote:
        if parsed.model_format is None:
            raise illegal_argument("model format is null")
        if parsed.url is not None and config is None and parsed.function_name not in CONFIG_OPTIONAL:
            raise illegal_argument("model config is null")
    if config is not None:
        local_embedding = parsed.function_name == "TEXT_EMBEDDING"
        parsed.model_config = parse_model_config(config, local_embedding, parsed.name)
    return parsed


def parse_model_config(raw: Mapping[str, Any], local_embedding: bool, model_name: str) -> dict[str, Any]:
    """`model_config` in document form; a local text-embedding model needs its dimension and
    framework, and gets ml-commons' defaults and the known space type of its base model."""
    model_type = xcontent.text(raw, "model_type")
    if model_type is None:
        raise illegal_argument("model type is null")
    framework = xcontent.text(raw, "framework_type")
    if framework is not None and framework.upper() not in FRAMEWORK_TYPES:
        raise illegal_argument("Wrong framework type")
    pooling = xcontent.text(raw, "pooling_mode")
    if pooling is not None and pooling.upper() not in POOLING_MODES:
        raise illegal_argument("Wrong pooling method")
    config: dict[str, Any] = {
        "model_type": model_type,
        "embedding_dimension": xcontent.integer(raw, "embedding_dimension"),
        "framework_type": None if framework is None else framework.upper(),
        "all_config": xcontent.text(raw, "all_config"),
        "model_max_length": xcontent.integer(raw, "model_max_length"),
        "pooling_mode": None if pooling is None else pooling.upper(),
        "normalize_result": xcontent.boolean(raw, "normalize_result"),
        "query_prefix": xcontent.text(raw, "query_prefix"),
        "passage_prefix": xcontent.text(raw, "passage_prefix"),
        "additional_config": xcontent.obj(raw, "additional_config"),
    }
    if local_embedding:
        if config["embedding_dimension"] is None:
            raise illegal_argument("embedding dimension is null")
        if config["framework_type"] is None:
            raise illegal_argument("framework type is null")
        config["pooling_mode"] = config["pooling_mode"] or "MEAN"
        config["normalize_result"] = bool(config["normalize_result"])
        config = with_space_type({key: value for key, value in config.items() if value is not None}, model_name)
    return {key: value for key, value in config.items() if value is not None}


def parse_deploy_setting(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`MLDeploySetting.parse`: auto-deploy flag and TTL in minutes."""
    setting = {"is_auto_deploy_enabled": xcontent.boolean(raw, "is_auto_deploy_enabled"),
               "model_ttl_minutes": xcontent.integer(raw, "model_ttl_minutes")}
    return {key: value for key, value in setting.items() if value is not None}


def parse_interface(body: Mapping[str, Any]) -> dict[str, str] | None:
    """Only `input` and `output` are kept, each as a JSON-schema string."""
    raw = xcontent.obj(body, "interface")
    if raw is None:
        return None
    return {key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for key, value in raw.items() if key in ("input", "output") and value is not None}
