"""Reading body fields the way ml-commons' parsers read them, with OpenSearch's errors.

ml-commons parses bodies token by token (`parser.text()`, `parser.booleanValue()`, ...):
a value of the wrong kind is refused with the parser's own wording, and a field that is not
named in the parser is skipped. These helpers take the decoded JSON object instead of a token
stream, so the Python API and the REST layer refuse the same bodies with the same messages.
The module functions leave out the token position the real parser appends to some messages
("at 1:10"); `JsonFields`, the reader of the fields the register, update and controller
APIs share, finds it in the body as sent.
"""

from __future__ import annotations

import json
import math
import re
from functools import cached_property
from typing import Any, Mapping

from .errors import MlError, illegal_argument, parse_exception

#: What `Double.parseDouble` accepts (after trimming), as a full match.
JAVA_DOUBLE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?")

Path = tuple[str, ...]


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


def json_parse_exception(problem: str, line: int, column: int) -> MlError:
    """Jackson's own refusal (400 `json_parse_exception`), located as it locates tokens."""
    return MlError(
        400,
        "json_parse_exception",
        f"{problem}\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "
        f"line: {line}, column: {column}]",
    )


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


class JsonFields:
    """Reads body values as ml-commons' XContent parsing does, with Jackson's token positions.

    `text` is the request body as sent (positions are 1-based line:column of each value's
    first character, Jackson's token location); without it, positions are those of the
    compact JSON of the value, which is what the official clients send.
    """

    def __init__(self, body: Any, text: str | None = None) -> None:
        self._body = body
        self._text = text

    @cached_property
    def positions(self) -> dict[Path, tuple[int, int]]:
        """Found only when an error needs one."""
        text = self._text if self._text is not None else json.dumps(self._body, separators=(",", ":"))
        return _value_positions(text)

    def text(self, value: Any, *path: str) -> str:
        """`parser.text()`: any scalar as a string; null or a container is refused."""
        if value is None or isinstance(value, (dict, list)):
            line, column = self.positions.get(path, (1, 1))
            raise parse_exception(f"Can't get text on a {token_name(value)} at {line}:{column}")
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value) if isinstance(value, float) else str(value)

    def boolean(self, value: Any, *path: str) -> bool:
        """`parser.booleanValue()`: a boolean, or the string "true"/"false" ("" reads false)."""
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value in ("true", "false", ""):
                return value == "true"
            raise illegal_argument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
        raise self._jackson(value, path, "not of boolean type")

    def integer(self, value: Any, *path: str) -> int:
        """`parser.intValue()` (coercing): a number (truncated) or a numeric string."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return int(value)
        if isinstance(value, str):
            stripped = value.strip()
            if JAVA_DOUBLE.fullmatch(stripped):
                return int(float(stripped.rstrip("fFdD")))
            raise MlError(400, "number_format_exception", f'For input string: "{value}"')
        raise self._jackson(value, path, "not numeric, can not use numeric value accessors")

    def _jackson(self, value: Any, path: Path, problem: str) -> MlError:
        """Jackson's own refusal of a token (400 json_parse_exception), located after it."""
        names = {True: "VALUE_TRUE", False: "VALUE_FALSE"}
        if isinstance(value, bool):
            name = names[value]
        elif isinstance(value, (int, float)):
            name = "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
        else:
            name = token_name(value)
        line, column = self.positions.get(path, (1, 1))
        width = 1 if isinstance(value, (dict, list)) else len(json.dumps(value))
        return json_parse_exception(f"Current token ({name}) {problem}", line, column + width)

    @staticmethod
    def object(value: Any) -> dict[str, Any]:
        """A nested object read with `ensureExpectedToken(START_OBJECT)`."""
        if not isinstance(value, dict):
            raise expecting("START_OBJECT", value)
        return value


def _value_positions(text: str) -> dict[Path, tuple[int, int]]:
    """1-based (line, column) of every object member's value, by key path."""
    positions: dict[Path, tuple[int, int]] = {}
    decoder = json.JSONDecoder()
    whitespace = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return whitespace.match(text, i).end()

    def record(path: Path, i: int) -> None:
        line = text.count("\n", 0, i) + 1
        positions[path] = (line, i - (text.rfind("\n", 0, i) + 1) + 1)

    def value(i: int, path: Path) -> int:
        i = skip(i)
        record(path, i)
        if text.startswith("{", i):
            i = skip(i + 1)
            while not text.startswith("}", i):
                key, i = decoder.raw_decode(text, i)
                i = skip(skip(i) + 1)  # past the colon
                i = skip(value(i, (*path, str(key))))
                if text.startswith(",", i):
                    i = skip(i + 1)
            return i + 1
        if text.startswith("[", i):
            i = skip(i + 1)
            index = 0
            while not text.startswith("]", i):
                i = skip(value(i, (*path, str(index))))
                index += 1
                if text.startswith(",", i):
                    i = skip(i + 1)
            return i + 1
        return decoder.raw_decode(text, i)[1]

    try:
        value(0, ())
    except (ValueError, AttributeError, IndexError):
        pass  # positions are a courtesy; the body itself was parsed already
    return positions
