"""Parsing an inference endpoint's settings as Elasticsearch's in-cluster service does:
`service_settings` (threads, allocations, adaptive allocations, model id), chunking and task
types, every problem collected into one validation_exception; leftovers are unknown settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MlError, RequestValidation, illegal_argument, status_error
from .requests import AdaptiveAllocations

SERVICE = "elasticsearch"
SERVICE_SETTINGS = "service_settings"
TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank", "completion", "chat_completion")
#: What an embedding endpoint chunks with when its request names no chunking settings.
DEFAULT_CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}


def unknown_settings(settings: dict[str, Any]) -> MlError:
    """ES prints the leftover map the Java way: `{key=value, ...}`."""
    shown = ", ".join(f"{k}={_java(v)}" for k, v in settings.items())
    return status_error(400, f"Model configuration contains settings [{{{shown}}}] unknown to the [{SERVICE}] service")


def pop_object(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An optional settings object taken out of the request map (None when absent)."""
    value = config.pop(name, None)
    if value is not None and not isinstance(value, dict):
        raise status_error(400, f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be "
                           "converted to a [Map]")
    return value


def validation_exception(messages: list[str]) -> MlError:
    """ES's common ValidationException (the services' settings parsers raise it): numbered
    messages, type `validation_exception`, 400."""
    text = "".join(f"{i}: {m};" for i, m in enumerate(messages, start=1))
    return MlError(400, "validation_exception", f"Validation Failed: {text}")


def _java(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_task_type(raw: str) -> str:
    if raw not in (*TASK_TYPES, "any"):
        raise status_error(400, f"Unknown task_type [{raw}]")
    return raw


@dataclass(frozen=True, slots=True)
class ParsedSettings:
    model_id: str | None
    num_threads: int
    num_allocations: int | None
    adaptive: AdaptiveAllocations | None
    adaptive_dict: dict[str, Any] | None


def parse_service_settings(raw: dict[str, Any]) -> ParsedSettings:
    """ES's ElasticsearchInternalServiceSettings: every problem collected, then a
    validation_exception; leftover keys are unknown settings."""
    settings = dict(raw)
    errors: list[str] = []
    scope = SERVICE_SETTINGS

    def positive(name: str, required: bool) -> int | None:
        value = settings.pop(name, None)
        if value is None:
            if required:
                errors.append(f"[{scope}] does not contain the required setting [{name}]")
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be "
                          f"converted to a [Integer]")
            return None
        if value <= 0:
            errors.append(f"[{scope}] Invalid value [{value}]. [{name}] must be a positive integer")
            return None
        return value

    allocations = positive("num_allocations", False)
    threads = positive("num_threads", True)
    adaptive, adaptive_dict = parse_adaptive(settings.pop("adaptive_allocations", None), errors)
    model_id = settings.pop("model_id", None)
    if model_id is not None and not isinstance(model_id, str):
        errors.append(f"field [model_id] is not of the expected type. The value [{_java(model_id)}] cannot be "
                      f"converted to a [String]")
        model_id = None
    elif model_id == "":
        errors.append(f"[{scope}] Invalid value empty string. [model_id] must be a non-empty string")
        model_id = None
    if allocations is None and adaptive is None:
        errors.append(f"[{scope}] does not contain one of the required settings [num_allocations, adaptive_allocations]")
    if errors:
        raise validation_exception(errors)
    if settings:
        raise unknown_settings(settings)
    return ParsedSettings(model_id, threads or 1, allocations, adaptive, adaptive_dict)


def parse_adaptive(raw: Any, errors: list[str]) -> tuple[AdaptiveAllocations | None, dict[str, Any] | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        errors.append(f"field [adaptive_allocations] is not of the expected type. The value [{_java(raw)}] cannot be "
                      "converted to a [Map]")
        return None, None
    values = dict(raw)
    enabled = values.pop("enabled", None)
    low = values.pop("min_number_of_allocations", None)
    high = values.pop("max_number_of_allocations", None)
    for name, value, kind in (("enabled", enabled, bool), ("min_number_of_allocations", low, int),
                              ("max_number_of_allocations", high, int)):
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            errors.append(f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be "
                          f"converted to a [{'Boolean' if kind is bool else 'Integer'}]")
            return None, None
    for name in values:
        errors.append(f"[adaptive_allocations] does not allow the setting [{name}]")
    adaptive = AdaptiveAllocations(bool(enabled), low, high)
    check = RequestValidation()
    adaptive.validate_into(check)
    errors.extend(check.messages)
    shown: dict[str, Any] = {"enabled": bool(enabled)}
    if low is not None:
        shown["min_number_of_allocations"] = low
    if high is not None:
        shown["max_number_of_allocations"] = high
    return adaptive, shown


#: Per strategy: its keys in ES's order, and the `max_chunk_size` bounds.
CHUNKING_RULES = {
    "word": (("strategy", "max_chunk_size", "overlap"), 10, 300),
    "sentence": (("strategy", "max_chunk_size", "sentence_overlap"), 20, 300),
    "none": (("strategy",), 0, 0),
}
CHUNKING_NAMES = {"word": "Word", "sentence": "Sentence", "none": "None"}


def parse_chunking(raw: Any) -> dict[str, Any]:
    """`chunking_settings` (the sentence default when absent), checked as ES's word and
    sentence chunking settings check them."""
    if raw is None or raw == {}:
        return dict(DEFAULT_CHUNKING)
    if not isinstance(raw, dict):
        raise status_error(400, f"field [chunking_settings] is not of the expected type. The value [{_java(raw)}] "
                           "cannot be converted to a [Map]")
    strategy = raw.get("strategy")
    if strategy not in CHUNKING_RULES:
        raise illegal_argument(f"Invalid chunkingStrategy {strategy}")
    keys, low, high = CHUNKING_RULES[strategy]
    errors = []
    extra = [key for key in raw if key not in keys]
    if extra:
        errors.append(f"{CHUNKING_NAMES[strategy]} based chunking settings can not have the following settings: "
                      f"[{', '.join(extra)}]")
    if strategy == "none":
        if errors:
            raise validation_exception(errors)
        return {"strategy": "none"}
    size = _bounded(raw, "max_chunk_size", low, high, errors)
    if strategy == "word":
        overlap = _bounded(raw, "overlap", 1, (size or high) // 2, errors)
        settings = {"strategy": "word", "max_chunk_size": size, "overlap": overlap}
    else:
        overlap = raw.get("sentence_overlap", 1)
        if overlap not in (0, 1) or isinstance(overlap, bool):
            errors.append(f"[chunking_settings] Invalid value [{float(overlap) if isinstance(overlap, int) else overlap}]."
                          " [sentence_overlap] must be a less than or equal to [1.0]")
        settings = {"strategy": "sentence", "max_chunk_size": size, "sentence_overlap": overlap}
    if errors:
        raise validation_exception(errors)
    return settings


def _bounded(raw: dict[str, Any], name: str, low: int, high: int, errors: list[str]) -> int | None:
    """ServiceUtils.extractRequiredPositiveIntegerBetween (its bounds print as doubles)."""
    value = raw.get(name)
    if value is None:
        errors.append(f"[chunking_settings] does not contain the required setting [{name}]")
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be converted to "
                      "a [Integer]")
        return None
    if value <= 0:
        errors.append(f"[chunking_settings] Invalid value [{value}]. [{name}] must be a positive integer")
        return None
    if value < low:
        errors.append(f"[chunking_settings] Invalid value [{float(value)}]. [{name}] must be a greater than or equal "
                      f"to [{float(low)}]")
        return None
    if value > high:
        errors.append(f"[chunking_settings] Invalid value [{float(value)}]. [{name}] must be a less than or equal to "
                      f"[{float(high)}]")
        return None
    return value
