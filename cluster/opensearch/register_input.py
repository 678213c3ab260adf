"""The body of `POST /_plugins/_ml/models/_register`, read as `MLRegisterModelInput` reads it.

Field kinds and the constructor's required-field errors ("model name is null", "model format
is null", "model config is null") come first; what needs the cluster (groups, connectors,
nodes) is checked by `Models.register`. Unknown fields are skipped, as in ml-commons.
`model_content_size_in_bytes` is the simulator's: the size of the artifact a `url` points to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import xcontent
from .errors import illegal_argument
from .model_groups import access_mode_of
from .model_fields import read_deploy_setting, read_guardrails, read_interface, read_model_config, upper_choice
from .rate_limiter import RateLimiter
from .xcontent import JsonFields

#: ml-commons' `FunctionName` values.
FUNCTION_NAMES = (
    "LINEAR_REGRESSION", "KMEANS", "AD_LIBSVM", "SAMPLE_ALGO", "LOCAL_SAMPLE_CALCULATOR", "FIT_RCF", "BATCH_RCF",
    "ANOMALY_LOCALIZATION", "RCF_SUMMARIZE", "LOGISTIC_REGRESSION", "TEXT_EMBEDDING", "METRICS_CORRELATION",
    "REMOTE", "SPARSE_ENCODING", "SPARSE_TOKENIZE", "TEXT_SIMILARITY", "QUESTION_ANSWERING", "AGENT", "CONNECTOR",
)
MODEL_FORMATS = ("ONNX", "TORCH_SCRIPT")
CONFIG_ORDER = ("model_type", "embedding_dimension", "framework_type", "all_config", "model_max_length",
                "pooling_mode", "normalize_result", "query_prefix", "passage_prefix", "additional_config")
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
    interface: dict[str, str | None] | None = None
    size_bytes: int | None = None

    @property
    def is_remote(self) -> bool:
        return self.function_name == "REMOTE"


def parse_register_input(body: Mapping[str, Any], validate_connector: Callable[[Any], dict[str, Any]],
                         text: str | None = None) -> RegisterInput:
    """Read a register body; raises ml-commons' errors for wrong kinds and missing fields.
    `text`, the body as sent, places the positions in parse errors of the fields the update
    API reads too."""
    fields = JsonFields(body, text)
    function_name = xcontent.text(body, "function_name")
    model_format = xcontent.text(body, "model_format")
    if function_name is not None:
        function_name = upper_choice(function_name, FUNCTION_NAMES, "Wrong function name")
    if model_format is not None:
        model_format = upper_choice(model_format, MODEL_FORMATS, "Wrong model format")
    config = JsonFields.object(body["model_config"]) if "model_config" in body else None
    # The fields the update API reads too, with its parsers (as ml-commons shares them).
    rate_limiter = None if "rate_limiter" not in body else RateLimiter.parse(body["rate_limiter"], fields, "rate_limiter")
    deploy_setting = None if "deploy_setting" not in body else read_deploy_setting(body["deploy_setting"], fields)
    guardrails = None if "guardrails" not in body else read_guardrails(body["guardrails"], fields)
    interface = None if "interface" not in body else read_interface(body["interface"])
    connector = body.get("connector")
    parsed = RegisterInput(
        function_name=function_name or "TEXT_EMBEDDING",
        name=xcontent.text(body, "name"),  # type: ignore[arg-type]  # checked just below
        model_group_id=xcontent.text(body, "model_group_id"),
        version=xcontent.text(body, "version"),
        description=xcontent.text(body, "description"),
        is_enabled=xcontent.boolean(body, "is_enabled"),
        rate_limiter=None if rate_limiter is None else rate_limiter.to_doc(),
        url=xcontent.text(body, "url"),
        hash_value=xcontent.text(body, "model_content_hash_value"),
        model_format=model_format,
        deploy_setting=deploy_setting,
        model_node_ids=xcontent.string_list(body, "model_node_ids"),
        connector=None if connector is None else validate_connector(connector),
        connector_id=xcontent.text(body, "connector_id"),
        backend_roles=xcontent.string_list(body, "backend_roles"),
        add_all_backend_roles=xcontent.boolean(body, "add_all_backend_roles"),
        access_mode=access_mode_of(body, lowercase=False),
        guardrails=guardrails,
        interface=interface,
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
        parsed.model_config = parse_model_config(config, fields, local_embedding)
    return parsed


def parse_model_config(raw: Any, fields: JsonFields, local_embedding: bool) -> dict[str, Any]:
    """`model_config` in document form; a local text-embedding model needs its dimension and
    framework. Only what was sent is kept (ml-commons' config writes `pooling_mode` and
    `additional_config` only when set, `normalize_result` only when true)."""
    config = read_model_config(raw, fields)
    if config.get("model_type") is None:
        raise illegal_argument("model type is null")
    if not config.get("normalize_result", True):
        del config["normalize_result"]
    if local_embedding:
        if config.get("embedding_dimension") is None:
            raise illegal_argument("embedding dimension is null")
        if config.get("framework_type") is None:
            raise illegal_argument("framework type is null")
    return {key: config[key] for key in sorted(config, key=_config_rank)}


def _config_rank(key: str) -> int:
    """`model_config`'s field order in ml-commons' documents (unknown keys last)."""
    return CONFIG_ORDER.index(key) if key in CONFIG_ORDER else len(CONFIG_ORDER)
