"""Reading body fields the way ml-commons' parsers read them, with OpenSearch's errors.

ml-commons parses bodies token by token (`parser.text()`, `parser.booleanValue()`, ...):
a value of the wrong kind is refused with the parser's own wording, and a field that is not
named in the parser is skipped. These helpers take the decoded JSON object instead of a token
stream, so the Python API and the REST layer refuse the same bodies with the same messages.
The token position the real parser appends to some messages ("at 1:10") is not known here and
is left out.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .errors import MlError, illegal_argument, parse_exception


def token_name(value: Any) -> str:
    """The JSON token a value starts with, as OpenSearch's XContentParser names it."""
    if value is None:
        return "VALUE_NULL"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, list):
        return "START_ARRAY"
    return "START_OBJECT"


def parsing_exception(reason: str) -> MlError:
    """`ParsingException`: how `ensureExpectedToken` and the query parsers refuse a body."""
    return MlError(400, "parsing_exception", reason)


def expecting(expected: str, value: Any) -> MlError:
    return parsing_exception(
        f"Failed to parse object: expecting token of type [{expected}] but found [{token_name(value)}]"
    )


def text_of(value: Any) -> str:
    """`parser.text()` of one value: scalars as their text, anything else refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise parse_exception(f"Can't get text on a {token_name(value)}")


def text(body: Mapping[str, Any], name: str) -> str | None:
    """An optional text field (absent → None; JSON null is refused like the real parser does)."""
    return text_of(body[name]) if name in body else None


def boolean(body: Mapping[str, Any], name: str) -> bool | None:
    """`parser.booleanValue()`: true/false, or the strings "true"/"false"."""
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if isinstance(value, str):
        raise illegal_argument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
    raise parse_exception(f"Can't get boolean on a {token_name(value)}")


def integer(body: Mapping[str, Any], name: str) -> int | None:
    """`parser.intValue()`: numbers (fractions truncated) and numeric strings."""
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise parse_exception(f"Current token ({token_name(value)}) not numeric, can not use numeric value accessors")
    try:
        return int(float(value)) if isinstance(value, str) else int(value)
    except ValueError:
        raise MlError(400, "number_format_exception", f'For input string: "{value}"') from None


def string_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    """An array of texts (`ensureExpectedToken(START_ARRAY)` then `parser.text()` per item)."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, list):
        raise expecting("START_ARRAY", value)
    return [text_of(item) for item in value]


def obj(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """An object field (`ensureExpectedToken(START_OBJECT)`)."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, dict):
        raise expecting("START_OBJECT", value)
    return value


def string_map(body: Mapping[str, Any], name: str) -> dict[str, str] | None:
    """`parser.mapStrings()`: an object whose values are read as text."""
    value = obj(body, name)
    return None if value is None else {key: text_of(item) for key, item in value.items()}


def parameter_map(body: Mapping[str, Any], name: str) -> dict[str, str] | None:
    """ml-commons' `getParameterMap(parser.map())`: every value becomes a string, objects and
    arrays as their JSON text, nulls dropped."""
    value = obj(body, name)
    if value is None:
        return None
    params: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        params[key] = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    return params
