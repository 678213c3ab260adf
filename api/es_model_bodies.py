"""The trained model PUT body: fields, types, and the checks ES makes while parsing it.

ES parses the body strictly; a problem found inside a nested object is reported as the
outer field failing to parse, caused by the inner problem (`caused_by`), which is how a
`vocabulary` in an NLP config or a fill_mask `mask_token` that does not match the
tokenizer come back. Request validation (`action_request_validation_exception`) follows.
"""

from __future__ import annotations

from typing import Any

from cluster.builtin_models import PACKAGES
from cluster.definition_codec import decompress
from cluster.errors import MlError, illegal_argument, status_error, validation_failed
from cluster.models import ANALYTICS_TASK_TYPES, MODEL_TYPES, NLP_TASK_TYPES

from .body import JsonBody

PUT_FIELDS = ("model_id", "model_type", "description", "tags", "metadata", "input", "inference_config",
              "definition", "compressed_definition", "model_size_bytes", "estimated_operations", "location",
              "default_field_map", "platform_architecture", "prefix_strings")
#: Metadata the memory estimate reads, so it must hold non-negative integers.
MEMORY_METADATA = ("per_deployment_memory_bytes", "per_allocation_memory_bytes")
PREFIX_FIELDS = ("search", "ingest")
#: The mask token of each tokenizer ES knows (bert is the default tokenization).
MASK_TOKENS = {"bert": "[MASK]", "bert_ja": "[MASK]", "deberta_v2": "[MASK]", "mpnet": "<mask>",
               "roberta": "<mask>", "xlm_roberta": "<mask>"}
DEFAULT_TOKENIZATION = "bert"


def _nested(body: JsonBody, outer: str, parser: str, inner: str, cause: MlError) -> MlError:
    """`outer` failed to parse because `inner` (inside the `parser` object) did."""
    inner_error = MlError(400, "x_content_parse_exception",
                          f"{body.location(inner)} [{parser}] failed to parse field [{inner}]", cause)
    outer_error = body.field_error(outer)
    outer_error.cause = inner_error
    return outer_error


def _nlp_settings(body: JsonBody, task: str, settings: dict[str, Any]) -> dict[str, Any]:
    """An NLP task's settings as stored: no `vocabulary` (the server owns it), and for
    fill_mask the tokenizer's mask token, which a given `mask_token` must equal."""
    if "vocabulary" in settings:
        raise _nested(body, "inference_config", task, "vocabulary",
                      status_error(400, "illegal setting [vocabulary] on inference model creation"))
    if task != "fill_mask":
        return settings
    tokenization = settings.get("tokenization")
    name = next(iter(tokenization), DEFAULT_TOKENIZATION) if isinstance(tokenization, dict) else DEFAULT_TOKENIZATION
    expected = MASK_TOKENS.get(name, MASK_TOKENS[DEFAULT_TOKENIZATION])
    given = settings.get("mask_token")
    if given is not None and given != expected:
        message = f"Mask token requested was [{given}] but must be [{expected}] for this model"
        wrapped = illegal_argument(f"java.lang.IllegalArgumentException: {message}")
        wrapped.cause = illegal_argument(message)
        raise _nested(body, "inference_config", task, "mask_token", wrapped)
    return {**settings, "mask_token": expected}


def _inference_config(body: JsonBody) -> dict[str, Any] | None:
    raw = body.object_not_null("inference_config")
    if raw is None:
        return None
    known = (*NLP_TASK_TYPES, *ANALYTICS_TASK_TYPES)
    if len(raw) != 1 or not all(k in known and isinstance(v, (dict, type(None))) for k, v in raw.items()):
        raise body.field_error("inference_config")
    task, settings = next(iter(raw.items()))
    settings = dict(settings or {})
    if task in NLP_TASK_TYPES:
        settings = _nlp_settings(body, task, settings)
    return {task: settings}


def _field_names(body: JsonBody, config: dict[str, Any]) -> list[str] | None:
    """`input.field_names`; one string is read as a one-element list, as ES's parser does."""
    if "input" not in config:
        return None
    fields = config["input"].get("field_names", [])
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise body.field_error("input")
    return fields


def _prefix_strings(body: JsonBody) -> dict[str, str] | None:
    raw = body.object("prefix_strings")
    if raw is None:
        return None
    prefixes = JsonBody(body.text, raw, "prefix_strings")
    prefixes.check_known(PREFIX_FIELDS)
    return {name: text for name in PREFIX_FIELDS if (text := prefixes.str(name)) is not None}


def parse_model_config(body: JsonBody, model_id: str, defer_decompression: bool = False) -> dict[str, Any]:
    """The PUT body's fields, type-checked, with ES's messages for the shape problems."""
    body.check_known(PUT_FIELDS)
    given = body.str("model_id")
    if given is not None and given != model_id:
        raise validation_failed([
            f"Inconsistent model_id; '{given}' specified in the body differs from '{model_id}' specified as a "
            "URL argument"
        ])
    config: dict[str, Any] = {}
    for name in ("description", "model_type", "compressed_definition", "platform_architecture"):
        if name in body:
            config[name] = body.str(name)
    if config.get("model_type") not in (None, *MODEL_TYPES):
        raise body.field_error("model_type")
    for name in ("metadata", "definition", "input", "location", "default_field_map"):
        if name in body:
            config[name] = body.object_not_null(name)
    prefixes = _prefix_strings(body)
    if prefixes is not None:
        config["prefix_strings"] = prefixes
    metadata = config.get("metadata") or {}
    for name in MEMORY_METADATA:
        value = metadata.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise body.field_error("metadata")
    tags = body.list("tags")
    if tags is not None:
        if not all(isinstance(t, str) for t in tags):
            raise body.field_error("tags")
        config["tags"] = tags
    fields = _field_names(body, config)
    if fields is not None:
        config["input"] = {**config["input"], "field_names": fields}
    for name in ("model_size_bytes", "estimated_operations"):
        value = body.int(name)
        if value is not None:
            if value < 0:
                raise body.field_error(name)
            config[name] = value
    inference_config = _inference_config(body)
    if inference_config is not None:
        config["inference_config"] = inference_config
    _validate(config, model_id, fields, defer_decompression)
    if "compressed_definition" in config and not defer_decompression:
        try:
            config["definition"] = decompress(config["compressed_definition"])
        except ValueError:
            raise status_error(400, f"Failed to parse definition for [{model_id}]") from None
    return config


def _validate(config: dict[str, Any], model_id: str, fields: list[str] | None, defer: bool) -> None:
    """ES's request validation, all messages at once."""
    messages = []
    if model_id not in PACKAGES and "model_type" not in config and not (
        "definition" in config or "compressed_definition" in config
    ):
        messages.append("[model_type] must be set if [definition] is not defined.")
    if fields is not None and not fields:
        messages.append("[input.field_names] must not be empty")
    if fields and any(part == "" for f in fields if "." in f for part in f.split(".")):
        messages.append("[input.field_names] must only contain valid dot delimited field names")
    if messages:
        raise validation_failed(messages)
    if defer and "compressed_definition" in config and not config.get("model_size_bytes"):
        raise validation_failed([
            "when [defer_definition_decompression] is true and a compressed definition is provided, "
            "model_size_bytes must be set"
        ])
