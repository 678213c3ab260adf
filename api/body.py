"""Request bodies: JSON objects read and type-checked with Elasticsearch's parse errors.

ES reports a body problem with the position of the offending token (`[line:column]`) and
the parser's name; Python's json module gives no positions for values, so the position of
a field is found in the raw text, which is exact for the usual one-occurrence bodies.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from aiohttp import web

from cluster.errors import MlError

from .http_errors import parse_error
from .params import INT_MAX, INT_MIN
from .request_body import loads, read_text


def body_required() -> MlError:
    return MlError(400, "parse_exception", "request body is required")


class JsonBody:
    """A parsed JSON object body plus the raw text, for positions in error messages."""

    def __init__(self, text: str, data: dict[str, Any], parser: str) -> None:
        self.text = text
        self.data = data
        self.parser = parser

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def location(self, name: str) -> str:
        match = re.search(r'"' + re.escape(name) + r'"\s*:\s*', self.text)
        offset = match.end() if match else 0
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"[{line}:{column}]"

    def field_error(self, name: str) -> MlError:
        return parse_error(f"{self.location(name)} [{self.parser}] failed to parse field [{name}]")

    def check_known(self, fields: Iterable[str]) -> None:
        known = set(fields)
        for name in self.data:
            if name not in known:
                match = re.search(r'"' + re.escape(name) + r'"', self.text)
                offset = match.start() if match else 0
                line = self.text.count("\n", 0, offset) + 1
                column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
                raise parse_error(f"[{line}:{column}] [{self.parser}] unknown field [{name}]")

    def int(self, name: str) -> int | None:
        """A 32-bit int (numbers in strings and integral floats coerce, as in ES)."""
        value = self.data.get(name)
        if value is None:
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value)
        if number is None or not INT_MIN <= number <= INT_MAX:
            raise self.field_error(name)
        return number

    def bool(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None or isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.field_error(name)

    def str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.field_error(name)

    def object(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is None or isinstance(value, dict):
            return value
        raise self.field_error(name)

    def object_not_null(self, name: str) -> dict[str, Any] | None:
        """An object field ES declares as OBJECT (not OBJECT_OR_NULL): absent is None, an
        explicit null is ObjectParser's 'doesn't support values of type: VALUE_NULL'."""
        if name in self.data and self.data[name] is None:
            raise parse_error(f"{self.location(name)} [{self.parser}] {name} doesn't support values of type: VALUE_NULL")
        return self.object(name)

    def list(self, name: str) -> list[Any] | None:
        value = self.data.get(name)
        if value is None or isinstance(value, list):
            return value
        raise self.field_error(name)


async def read_body(request: web.Request, parser: str, required: bool = False) -> JsonBody | None:
    """The body as a JSON object (None when empty and optional)."""
    text = await read_text(request)
    if not text.strip():
        if required:
            raise body_required()
        return None
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise parse_error(f"[{exc.lineno}:{exc.colno}] {exc.msg}") from None
    if not isinstance(data, dict):
        raise MlError(
            400,
            "parse_exception",
            f"request body must be a JSON object, found [{type(data).__name__}]",
        )
    return JsonBody(text, data, parser)
