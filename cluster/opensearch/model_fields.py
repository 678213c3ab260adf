"""Model fields that both the register and the update body carry, read as the parsers the
two ml-commons inputs share (`MLDeploySetting.parse`, `Guardrails.parse`, the model config's
typed fields, the interface map, enum names), so both APIs accept and refuse alike."""

from __future__ import annotations

import json
from typing import Any

from .errors import illegal_argument
from .xcontent import JsonFields

FRAMEWORK_TYPES = ("SENTENCE_TRANSFORMERS", "HUGGINGFACE_TRANSFORMERS", "HUGGINGFACE_TRANSFORMERS_NEURON")
POOLING_MODES = ("MEAN", "MEAN_SQRT_LEN", "MAX", "WEIGHTED_MEAN", "CLS", "LAST_TOKEN")
GUARDRAIL_TYPES = ("local_regex", "model")


def upper_choice(text: str, allowed: tuple[str, ...], message: str) -> str:
    """An enum read as ml-commons' `X.from(text)`: case-insensitive, else its own message."""
    if text.upper() not in allowed:
        raise illegal_argument(message)
    return text.upper()


def read_model_config(value: Any, fields: JsonFields) -> dict[str, Any]:
    """`model_config`'s typed fields (checks that need the model come after)."""
    config: dict[str, Any] = {}
    for key, item in JsonFields.object(value).items():
        path = ("model_config", key)
        if key in ("model_type", "all_config", "query_prefix", "passage_prefix"):
            config[key] = fields.text(item, *path)
        elif key in ("embedding_dimension", "model_max_length"):
            config[key] = fields.integer(item, *path)
        elif key == "normalize_result":
            config[key] = fields.boolean(item, *path)
        elif key == "framework_type":
            config[key] = upper_choice(fields.text(item, *path), FRAMEWORK_TYPES, "Wrong framework type")
        elif key == "pooling_mode":
            config[key] = upper_choice(fields.text(item, *path), POOLING_MODES, "Wrong pooling method")
        elif key == "additional_config" and isinstance(item, dict):
            config[key] = item
    return config


def read_deploy_setting(value: Any, fields: JsonFields) -> dict[str, Any]:
    """`MLDeploySetting.parse`: auto-deploy flag and TTL in minutes."""
    setting: dict[str, Any] = {}
    for key, item in JsonFields.object(value).items():
        if key == "is_auto_deploy_enabled":
            setting[key] = fields.boolean(item, "deploy_setting", key)
        elif key == "model_ttl_minutes":
            setting[key] = fields.integer(item, "deploy_setting", key)
    return setting


def read_guardrails(value: Any, fields: JsonFields) -> dict[str, Any]:
    """`Guardrails.parse`: a known type (local_regex unless said) and the two guardrails."""
    body = JsonFields.object(value)
    kind = fields.text(body["type"], "guardrails", "type") if "type" in body else "local_regex"
    if kind not in GUARDRAIL_TYPES:
        raise illegal_argument("The type of guardrails is required, can not be null.")
    guardrails: dict[str, Any] = {"type": kind}
    for key in ("input_guardrail", "output_guardrail"):
        params = _map(body.get(key))
        if params:
            guardrails[key] = _local_regex(params, key) if kind == "local_regex" else _model_guardrail(params, key)
    return guardrails


def read_interface(value: Any) -> dict[str, str | None]:
    """Only `input` and `output` are kept, as JSON-schema strings; a null one switches that
    schema's validation off. A null or non-object interface reads as empty."""
    interface = _map(value)
    return {
        key: item if item is None or isinstance(item, str) else json.dumps(item, separators=(",", ":"),
                                                                            ensure_ascii=False)
        for key, item in interface.items()
        if key in ("input", "output")
    }


def _local_regex(params: dict[str, Any], where: str) -> dict[str, Any]:
    guardrail: dict[str, Any] = {}
    words = params.get("stop_words")
    if words:
        if not isinstance(words, list) or not all(
            isinstance(w, dict) and isinstance(w.get("index_name"), str) and _strings(w.get("source_fields"))
            for w in words
        ):
            raise illegal_argument(f"[{where}.stop_words] must be a list of {{index_name, source_fields}} objects")
        guardrail["stop_words"] = [{"index_name": w["index_name"], "source_fields": w["source_fields"]} for w in words]
    regex = params.get("regex")
    if regex:
        if not _strings(regex):
            raise illegal_argument(f"[{where}.regex] must be a list of strings")
        guardrail["regex"] = regex
    return guardrail


def _model_guardrail(params: dict[str, Any], where: str) -> dict[str, Any]:
    guardrail: dict[str, Any] = {}
    for key in ("model_id", "response_validation_regex"):
        if params.get(key) is not None:
            if not isinstance(params[key], str):
                raise illegal_argument(f"[{where}.{key}] must be a string")
            guardrail[key] = params[key]
    return guardrail


def _map(value: Any) -> dict[str, Any]:
    """`parser.map()`: an object as is; any scalar reads as an empty map."""
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
