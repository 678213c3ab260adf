"""A model's `interface`: JSON-schema strings its predict input and output must satisfy.

ml-commons validates with networknt's json-schema-validator (draft 2020-12) and reports
`Validation failed: [<messages>] for instance: <json> with schema: <schema>` inside the
400 "Error validating input/output schema, ..." refusal. Validation here uses `jsonschema`
with the same draft; the messages are rewritten in networknt's wording for the common
keywords (`$.path: ...`), other keywords keep jsonschema's text after the path.

The input instance is what ml-commons serialises its parsed predict input to:
`{"algorithm": ..., "parameters": {...}}` for remote models (every parameter a string, then
turned back into JSON where the schema does not declare the parameter a string) and
`{"algorithm": ..., "text_docs": [...], "return_bytes": .., "return_number": ..}` for text
documents.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from .errors import MlError, os_status

_REFUSAL = (
    "Error validating {which} schema, if you think this is expected, please update your "
    "'{which}' field in the 'interface' field for this model: {detail}"
)

_JSON_TYPES = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"),
)  # fmt: skip


def interface_schema(model: dict[str, Any], which: str) -> str | None:
    """The model's `interface.input` / `interface.output` schema string (None: no check)."""
    interface = model.get("interface")
    if not isinstance(interface, dict):
        return None
    schema = interface.get(which)
    return schema if isinstance(schema, str) and schema.strip() else None


def validate_input(schema: str, instance: dict[str, Any]) -> None:
    """400 when the predict input does not satisfy the model's input schema."""
    parsed, validator = _compiled("input", schema)
    _validate("input", schema, validator, _restore_parameter_types(instance, parsed))


def validate_output(schema: str, output: dict[str, Any]) -> None:
    """400 when the predict answer does not satisfy the model's output schema."""
    _validate("output", schema, _compiled("output", schema)[1], output)


def _compiled(which: str, schema_text: str) -> tuple[Any, Draft202012Validator]:
    try:
        return _compile(schema_text)
    except (ValueError, SchemaError) as exc:
        raise _refusal(which, f"invalid schema: {exc}") from None


@functools.lru_cache(maxsize=256)
def _compile(schema_text: str) -> tuple[Any, Draft202012Validator]:
    """A schema string parsed and checked once: predict validates every request against the
    same few (callers only read the parsed schema)."""
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return schema, Draft202012Validator(schema)


def _validate(which: str, schema_text: str, validator: Draft202012Validator, instance: dict[str, Any]) -> None:
    errors = [text for error in validator.iter_errors(instance) for text in _networknt_messages(error)]
    if errors:
        text = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
        detail = f"Validation failed: [{', '.join(errors)}] for instance: {text} with schema: {schema_text}"
        raise _refusal(which, detail)


def _refusal(which: str, detail: str) -> MlError:
    return os_status(400, _REFUSAL.format(which=which, detail=detail))


def _restore_parameter_types(instance: dict[str, Any], schema: Any) -> dict[str, Any]:
    """Parameters arrive as strings; those the schema does not type as strings are parsed
    back into JSON when they parse (as ml-commons does before validating)."""
    parameters = instance.get("parameters")
    if not isinstance(parameters, dict):
        return instance
    try:
        declared = schema.get("properties", {}).get("parameters", {}).get("properties", {})
    except AttributeError:
        declared = {}
    restored: dict[str, Any] = {}
    for key, value in parameters.items():
        restored[key] = value
        spec = declared.get(key) if isinstance(declared, dict) else None
        if isinstance(value, str) and not (isinstance(spec, dict) and spec.get("type") == "string"):
            try:
                restored[key] = json.loads(value)
            except ValueError:
                pass
    return {**instance, "parameters": restored}


def _path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return next(name for kind, name in _JSON_TYPES if isinstance(value, kind))


def _networknt_messages(error: ValidationError) -> list[str]:
    """An error in networknt's words (`$.a.b: ...`); one per extra property, as it reports."""
    path, keyword, expected, value = _path(error), error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = next(name for name in expected if repr(name) in error.message)
        return [f"{path}: required property '{missing}' not found"]
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = set(error.schema.get("properties", {}))
        return [
            f"{path}: property '{name}' is not defined in the schema "
            "and the schema does not allow additional properties"
            for name in value
            if name not in known
        ]
    if keyword == "type":
        wanted = ", ".join(expected) if isinstance(expected, list) else expected
        return [f"{path}: {_type_name(value)} found, {wanted} expected"]
    wording = {
        "enum": lambda: f"does not have a value in the enumeration [{', '.join(map(str, expected))}]",
        "minLength": lambda: f"must be at least {expected} characters long",
        "maxLength": lambda: f"must be at most {expected} characters long",
        "minimum": lambda: f"must have a minimum value of {expected}",
        "maximum": lambda: f"must have a maximum value of {expected}",
        "minItems": lambda: f"expected at least {expected} items but found {len(value)}",
        "maxItems": lambda: f"expected at most {expected} items but found {len(value)}",
        "pattern": lambda: f"does not match the regex pattern {expected}",
    }.get(str(keyword), lambda: error.message)
    return [f"{path}: {wording()}"]
