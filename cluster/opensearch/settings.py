"""`plugins.ml_commons.*` settings that change what the simulated ml-commons does, and the
cluster-settings layer (`PUT _cluster/settings`) that changes them while the cluster runs.

A setting's effective value is, as in OpenSearch, the transient value if set, else the
persistent one, else the node's own value (the field's value before any cluster setting
touched it). Values travel as OpenSearch keeps them: strings (lists of strings for list
settings), parsed and range-checked per setting with OpenSearch's messages.

Every setting ml-commons registers is known. The dynamic ones that change nothing here are
stored and shown only (`STORED_ONLY`, but `remote_job.*`: `disk_free_space_threshold`, as simulated nodes have no
disk; the agent, memory, MCP, RAG, batch-ingestion and access-control switches, as those
features are not simulated). Updating a node-scope-only or final one is refused as OpenSearch
refuses it. A key OpenSearch does not register is refused as "not recognized", and, as in
OpenSearch, one bad key refuses the whole request: nothing of it is applied. Keys the
documentation lists but ml-commons' code does not register (`max_memory_containers_per_user`,
`max_memories_per_container`) are refused likewise: the code decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from cluster.errors import MlError, illegal_argument

from .xcontent import JAVA_DOUBLE

PREFIX = "plugins.ml_commons."
SCOPES = ("persistent", "transient")

#: `trusted_connector_endpoints_regex`'s default in ml-commons.
TRUSTED_CONNECTOR_ENDPOINTS: tuple[str, ...] = (
    r"^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$",
    r"^https://api\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$",
    r"^https://api\.openai\.com/.*$",
    r"^https://api\.cohere\.ai/.*$",
    r"^https://api\.deepseek\.com/.*$",
    r"^https://generativelanguage\.googleapis\.com/.*$",
    r"^https://bedrock-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$",
    r"^https://bedrock-agent-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$",
    r"^https://bedrock\..*[a-z0-9-]\.amazonaws\.com/.*$",
    r"^https://textract\..*[a-z0-9-]\.amazonaws\.com$",
    r"^https://comprehend\..*[a-z0-9-]\.amazonaws\.com$",
    r"^https://rekognition(-fips)?\..*[a-z0-9-]\.amazonaws\.com$",
)

#: A setting's value as OpenSearch stores it.
Raw = str | list[str]


@dataclass(slots=True)
class ClusterOverrides:
    """What `PUT _cluster/settings` set, by scope and full key, and the node values it hides."""

    persistent: dict[str, Raw] = field(default_factory=dict)
    transient: dict[str, Raw] = field(default_factory=dict)
    node_values: dict[str, Any] = field(default_factory=dict)

    def scope(self, name: str) -> dict[str, Raw]:
        return self.persistent if name == "persistent" else self.transient


@dataclass(slots=True)
class MlCommonsSettings:
    """Mutable: `PUT _cluster/settings` changes them while the cluster runs."""

    allow_custom_deployment_plan: bool = False
    #: Off by default: only pretrained models register without it (a `url` is refused).
    allow_registering_model_via_url: bool = False
    remote_inference_enabled: bool = True
    only_run_on_ml_node: bool = True
    sync_up_job_interval_in_seconds: float = 10.0
    #: A task not updated for this long is failed at the next sync-up.
    ml_task_timeout_in_seconds: int = 600
    max_model_on_node: int = 10
    max_deploy_model_tasks_per_node: int = 10
    max_register_model_tasks_per_node: int = 10
    model_auto_deploy_enable: bool = True
    model_auto_redeploy_enable: bool = True
    model_auto_redeploy_lifetime_retry_times: int = 3
    model_auto_redeploy_success_ratio: float = 0.8
    jvm_heap_memory_threshold: int = 85
    native_memory_threshold: int = 90
    #: Comma-separated node names no model is deployed to (`exclude_nodes._name`).
    exclude_node_names: str = ""
    #: "round_robin" or "least_load"; any other value is accepted here and refused when a
    #: task is dispatched ("Unknown policy"), as in ml-commons.
    task_dispatch_policy: str = "round_robin"
    #: Node roles remote models (and local ones, without `only_run_on_ml_node`) may run on.
    remote_model_eligible_node_roles: tuple[str, ...] = ("data", "ml")
    local_model_eligible_node_roles: tuple[str, ...] = ("data", "ml")
    #: Model delete refuses while ingest pipelines name the model.
    safe_delete_model: bool = False
    #: The controller API (user-level rate limits) answers only while this is on.
    controller_enabled: bool = True
    #: Java regexes a connector action's resolved URL must fully match (create, update, register).
    trusted_connector_endpoints_regex: tuple[str, ...] = TRUSTED_CONNECTOR_ENDPOINTS
    #: Java regex a register `url` must match (a `find`, as ml-commons runs it).
    trusted_url_regex: str = r"^(https?|ftp|file)://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]"
    #: Off: register, deploy and predict of local (non-remote) models are refused.
    local_model_enabled: bool = True
    #: Off: `_batch_predict` is refused.
    offline_batch_inference_enabled: bool = True
    #: Off (ml-commons' default): `_predict/stream` is refused with ml-commons' message.
    stream_enabled: bool = False
    #: Simulated seconds a remote connector takes to answer (the simulator's own knob).
    remote_latency_seconds: float = 0.2
    #: Bytes per simulated second a model's chunks are downloaded and stored at register.
    register_bandwidth_bytes_per_second: float = 100_000_000.0
    #: Cluster-level values over the fields above (kept out of comparisons and repr).
    cluster_overrides: ClusterOverrides = field(default_factory=ClusterOverrides, compare=False, repr=False)


Kind = Literal["bool", "int", "float", "string", "list", "regex_list", "bytes"]


Update = Literal["dynamic", "static", "final"]


@dataclass(frozen=True, slots=True)
class SettingSpec:
    key: str
    #: The `MlCommonsSettings` field it sets; None: stored and shown only.
    field: str | None
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    #: The node value of a stored-only setting, as OpenSearch shows it.
    default: Raw | None = None
    update: Update = "dynamic"


def _spec(name: str, attr: str, kind: Kind, minimum: float | None = None, maximum: float | None = None) -> SettingSpec:
    return SettingSpec(PREFIX + name, attr, kind, minimum, maximum)


def _stored(name: str, kind: Kind, default: Raw, minimum: float | None = None, maximum: float | None = None,
            update: Update = "dynamic") -> SettingSpec:
    return SettingSpec(PREFIX + name, None, kind, minimum, maximum, default, update)


#: ml-commons' settings without a field, with their types, bounds and defaults: stored and
#: shown; only `remote_job.*` and `allow_registering_model_via_local_file` are read
#: (`field_less_value`), the others' effect is not simulated.
STORED_ONLY = (
    _stored("max_ml_task_per_node", "int", "10", 0, 10000),
    _stored("monitoring_request_count", "int", "100", 0, 10_000_000),
    _stored("allow_registering_model_via_local_file", "bool", "false"),
    _stored("disk_free_space_threshold", "bytes", "5gb"),
    _stored("enable_inhouse_python_model", "bool", "false"),
    _stored("model_access_control_enabled", "bool", "false"),
    _stored("connector_access_control_enabled", "bool", "false"),
    _stored("agent_framework_enabled", "bool", "true"),
    _stored("memory_feature_enabled", "bool", "true"),
    _stored("agentic_memory_enabled", "bool", "true"),
    _stored("remote_agentic_memory_enabled", "bool", "false"),
    _stored("rag_pipeline_feature_enabled", "bool", "true"),
    _stored("max_batch_inference_tasks", "int", "100", 0, 10000),
    _stored("max_batch_ingestion_tasks", "int", "100", 0, 10000),
    _stored("batch_ingestion_bulk_size", "int", "500", 100, 100000),
    _stored("offline_batch_ingestion_enabled", "bool", "true"),
    _stored("trusted_connector_private_endpoints_regex", "regex_list", []),
    _stored("index_insight_feature_enabled", "bool", "false"),
    _stored("mcp_connector_enabled", "bool", "false"),
    _stored("mcp_server_enabled", "bool", "false"),
    _stored("mcp_header_passthrough_enabled", "bool", "false"),
    _stored("unified_agent_api_enabled", "bool", "false"),
    _stored("agentic_search_template_enabled", "bool", "false"),
    _stored("ag_ui_enabled", "bool", "false"),
    _stored("execute_tools_enabled", "bool", "true"),
    _stored("connector.private_ip_enabled", "bool", "false"),
    # read by a batch-predict task's status refresh (`batch_jobs.py`)
    _stored("remote_job.status_field", "list", ["status", "Status", "TransformJobStatus"]),
    _stored("remote_job.status_regex.completed", "string", "(complete|completed|partiallyCompleted)"),
    _stored("remote_job.status_regex.cancelled", "string", "(stopped|cancelled)"),
    _stored("remote_job.status_regex.cancelling", "string", "(stopping|cancelling)"),
    _stored("remote_job.status_regex.expired", "string", "(expired|timeout)"),
    _stored("remote_job.status_regex.failed", "string", "(failed)"),
    _stored("metrics_static_collection_enabled", "bool", "false"),
    _stored("max_json_size", "int", "100000000", -1),
    _stored("memory.retention_enabled", "bool", "false"),
    _stored("memory.retention_job_interval_hours", "int", "24", 1, 168),
    _stored("memory.retention_job_throttle_seconds", "int", "5", 1, 60),
    _stored("memory.orphan_ttl_days", "int", "7", 1, 365),
    _stored("memory.working_memory_ttl_days", "int", "-1", -1, 365),
    _stored("memory.default_session_retention_days", "int", "-1", -1, 3650),
    _stored("memory.default_session_max_count", "int", "-1", -1, 1_000_000),
    _stored("memory.default_long_term_max_count", "int", "-1", -1, 1_000_000),
    _stored("memory.default_history_max_count", "int", "-1", -1, 10_000_000),
    # node-scope settings a cluster-settings update cannot change
    _stored("multi_tenancy_enabled", "bool", "false", update="static"),
    _stored("master_key_cache_ttl_minutes", "int", "5", 1, 1440, update="static"),
    _stored("connector.restricted_ip_patterns", "regex_list", [], update="final"),
    _stored("metrics_collection_enabled", "bool", "false", update="final"),
)

#: Every cluster setting the simulator knows, with ml-commons' types and bounds.
SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        _spec("allow_custom_deployment_plan", "allow_custom_deployment_plan", "bool"),
        _spec("allow_registering_model_via_url", "allow_registering_model_via_url", "bool"),
        _spec("remote_inference.enabled", "remote_inference_enabled", "bool"),
        _spec("only_run_on_ml_node", "only_run_on_ml_node", "bool"),
        _spec("sync_up_job_interval_in_seconds", "sync_up_job_interval_in_seconds", "int", 0, 86400),
        _spec("ml_task_timeout_in_seconds", "ml_task_timeout_in_seconds", "int", 1, 86400),
        _spec("max_model_on_node", "max_model_on_node", "int", 0, 10000),
        _spec("max_deploy_model_tasks_per_node", "max_deploy_model_tasks_per_node", "int", 0, 10),
        _spec("max_register_model_tasks_per_node", "max_register_model_tasks_per_node", "int", 0, 10),
        _spec("model_auto_deploy.enable", "model_auto_deploy_enable", "bool"),
        _spec("model_auto_redeploy.enable", "model_auto_redeploy_enable", "bool"),
        _spec("model_auto_redeploy.lifetime_retry_times", "model_auto_redeploy_lifetime_retry_times", "int"),
        _spec("model_auto_redeploy_success_ratio", "model_auto_redeploy_success_ratio", "float", 0.0, 1.0),
        _spec("jvm_heap_memory_threshold", "jvm_heap_memory_threshold", "int", 0, 100),
        _spec("native_memory_threshold", "native_memory_threshold", "int", 0, 100),
        _spec("exclude_nodes._name", "exclude_node_names", "string"),
        _spec("task_dispatch_policy", "task_dispatch_policy", "string"),
        _spec("task_dispatcher.eligible_node_role.remote_model", "remote_model_eligible_node_roles", "list"),
        _spec("task_dispatcher.eligible_node_role.local_model", "local_model_eligible_node_roles", "list"),
        _spec("safe_delete_model", "safe_delete_model", "bool"),
        _spec("controller_enabled", "controller_enabled", "bool"),
        _spec("trusted_connector_endpoints_regex", "trusted_connector_endpoints_regex", "regex_list"),
        _spec("trusted_url_regex", "trusted_url_regex", "string"),
        _spec("local_model.enabled", "local_model_enabled", "bool"),
        _spec("offline_batch_inference_enabled", "offline_batch_inference_enabled", "bool"),
        _spec("stream_enabled", "stream_enabled", "bool"),
        *STORED_ONLY,
    )
}

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_JAVA_INT = re.compile(r"[+-]?\d+")


def update_cluster_settings(
    settings: MlCommonsSettings, persistent: Mapping[str, Any], transient: Mapping[str, Any]
) -> dict[str, dict[str, Raw]]:
    """Apply a `PUT _cluster/settings` body's two scopes (nested or dotted keys; null resets,
    a key ending in `*` resets every matching key). All or nothing: any unknown key or bad
    value raises OpenSearch's 400 and changes nothing. Returns what each scope set."""
    requested = {"transient": flatten(transient), "persistent": flatten(persistent)}
    for scope, values in requested.items():  # OpenSearch checks transient first
        for key, raw in values.items():
            if raw is None and (key.endswith("*") or (key in SETTINGS and SETTINGS[key].update == "dynamic")):
                continue
            spec = SETTINGS.get(key)
            if spec is None:
                raise illegal_argument(f"{scope} setting [{key}], not recognized")
            if spec.update == "static":
                raise illegal_argument(f"{scope} setting [{key}], not dynamically updateable")
            if spec.update == "final":
                raise illegal_argument(f"final {scope} setting [{key}], not updateable")
            parse_value(spec, raw)
    overrides = settings.cluster_overrides
    for scope, values in requested.items():
        stored = overrides.scope(scope)
        for key, raw in values.items():
            if raw is None:
                for name in [k for k in stored if k == key or (key.endswith("*") and k.startswith(key[:-1]))]:
                    del stored[name]
            else:
                attr = SETTINGS[key].field
                if attr is not None:
                    overrides.node_values.setdefault(attr, getattr(settings, attr))
                stored[key] = raw
    _apply_effective(settings)
    return {scope: {k: v for k, v in requested[scope].items() if v is not None} for scope in SCOPES}


def field_less_value(settings: MlCommonsSettings, key: str) -> Any:
    """The typed effective value of a setting without a field (`STORED_ONLY`): transient,
    else persistent, else its default."""
    spec = SETTINGS[key]
    assert spec.field is None and spec.default is not None
    overrides = settings.cluster_overrides
    return parse_value(spec, overrides.transient.get(key, overrides.persistent.get(key, spec.default)))


def node_defaults(settings: MlCommonsSettings) -> dict[str, Raw]:
    """Each known setting's node-level value, as GET `_cluster/settings?include_defaults` shows it."""
    values = {}
    for spec in SETTINGS.values():
        if spec.field is None:
            assert spec.default is not None
            values[spec.key] = spec.default
            continue
        value = settings.cluster_overrides.node_values.get(spec.field, getattr(settings, spec.field))
        values[spec.key] = render_value(spec, value)
    return values


def flatten(source: Mapping[str, Any], prefix: str = "") -> dict[str, Raw | None]:
    """Nested objects to dotted keys; values to OpenSearch's strings (null kept as None)."""
    flat: dict[str, Raw | None] = {}
    for key, value in source.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = [_setting_string(item) for item in value]
        else:
            flat[name] = None if value is None else _setting_string(value)
    return flat


def nest(flat: Mapping[str, Raw]) -> dict[str, Any]:
    """Dotted keys back to objects, the default (non-`flat_settings`) form of responses."""
    nested: dict[str, Any] = {}
    for key in sorted(flat):
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = flat[key]
    return nested


def parse_value(spec: SettingSpec, raw: Raw) -> Any:
    """The typed value of a setting string, or OpenSearch's illegal_argument_exception."""
    if spec.kind in ("list", "regex_list"):
        values = tuple(raw) if isinstance(raw, list) else tuple(part.strip() for part in raw.split(",") if part.strip())
        if spec.kind == "regex_list":
            for regex in values:
                check_regex_safety(regex)
        return values
    if isinstance(raw, list):
        raise _failed(spec, "[" + ", ".join(raw) + "]")
    if spec.kind == "bool":
        if raw not in ("true", "false"):
            raise illegal_argument(f"Failed to parse value [{raw}] as only [true] or [false] are allowed.")
        return raw == "true"
    if spec.kind == "string":
        return raw
    if spec.kind == "bytes":
        parse_byte_size(spec.key, raw)
        return raw
    number: float
    if spec.kind == "int":
        if not _JAVA_INT.fullmatch(raw) or not _INT_MIN <= int(raw) <= _INT_MAX:
            raise _failed(spec, raw)
        number = int(raw)
    else:
        if not JAVA_DOUBLE.fullmatch(raw.strip()):
            raise _failed(spec, raw)
        number = float(raw.strip().rstrip("fFdD"))
    low, high = spec.minimum, spec.maximum
    bound = (lambda v: repr(float(v))) if spec.kind == "float" else (lambda v: str(int(v)))
    if low is not None and number < low:
        raise illegal_argument(f"Failed to parse value [{raw}] for setting [{spec.key}] must be >= {bound(low)}")
    if high is not None and number > high:
        raise illegal_argument(f"Failed to parse value [{raw}] for setting [{spec.key}] must be <= {bound(high)}")
    return number


def render_value(spec: SettingSpec, value: Any) -> Raw:
    """A typed value as its setting string."""
    if spec.kind in ("list", "regex_list"):
        return list(value)
    if spec.kind == "bool":
        return "true" if value else "false"
    if spec.kind == "int":
        return str(int(value))
    return repr(float(value)) if spec.kind == "float" else str(value)


_NESTED_QUANTIFIER = re.compile(r".*\([^)]*[*+?]\)[*+?{].*")
_BACKREFERENCE = re.compile(r".*\\[1-9].*")


def check_regex_safety(regex: str) -> None:
    """ml-commons' validator of the connector-endpoint regex settings (ReDoS guards, length,
    compilation; Python's `re` stands in for Java's compiler)."""
    if _NESTED_QUANTIFIER.fullmatch(regex) or _BACKREFERENCE.fullmatch(regex):
        raise illegal_argument(f"Regex pattern contains nested quantifiers or backreferences that may cause ReDoS: {regex}")
    if len(regex) > 256:
        raise illegal_argument(f"Regex pattern too long (max 256 chars): {regex}")
    try:
        re.compile(regex)
    except re.error:
        raise illegal_argument(f"Invalid regex pattern: {regex}") from None


_BYTE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
               "t": 1024**4, "tb": 1024**4, "p": 1024**5, "pb": 1024**5}
_BYTE_SIZE = re.compile(r"\s*(-?[0-9.]+)\s*([a-zA-Z]*)\s*")


def parse_byte_size(key: str, raw: str) -> int:
    """OpenSearch's `ByteSizeValue.parseBytesSizeValue`: a number with a unit, or `-1` / `0`."""
    match = _BYTE_SIZE.fullmatch(raw)
    if raw.strip() in ("-1", "0"):
        return int(raw.strip())
    if match is None or match.group(2).lower() not in _BYTE_UNITS:
        raise illegal_argument(f"failed to parse setting [{key}] with value [{raw}] as a size in bytes: unit is "
                               "missing or unrecognized")
    try:
        number = float(match.group(1))
    except ValueError:
        raise illegal_argument(f"failed to parse [{raw}]") from None
    if number < 0:
        raise illegal_argument(f"failed to parse setting [{key}] with value [{raw}] as a size in bytes")
    return int(number * _BYTE_UNITS[match.group(2).lower()])


def _apply_effective(settings: MlCommonsSettings) -> None:
    """Each overridden field to its transient, else persistent, else node value."""
    overrides = settings.cluster_overrides
    for spec in SETTINGS.values():
        if spec.field is None:
            continue
        raw = overrides.transient.get(spec.key, overrides.persistent.get(spec.key))
        if raw is not None:
            setattr(settings, spec.field, parse_value(spec, raw))
        elif spec.field in overrides.node_values:
            setattr(settings, spec.field, overrides.node_values.pop(spec.field))


def _setting_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (Mapping, list)):
        raise MlError(400, "illegal_argument_exception", f"unexpected value [{value}] in a list of settings")
    return str(value)


def _failed(spec: SettingSpec, raw: str) -> MlError:
    return illegal_argument(f"Failed to parse value [{raw}] for setting [{spec.key}]")

