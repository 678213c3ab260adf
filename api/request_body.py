"""The bytes of a request body and their JSON, checked the way Elasticsearch's HTTP layer and
Jackson check them, before any handler looks at a field.

One place for every dialect: the body's size (`http.max_content_length`, 100 MB), its
`Content-Type` (RestController's 406), its `Content-Encoding` (gzip and deflate decompressed
here, so a body that does not decompress is a 400, not a dropped connection), and Jackson's
`StreamReadConstraints` (nesting depth and number length, 1000 each). A limit that JSON
text breaks is raised as `json.JSONDecodeError`, with its position, so each dialect reports
it the way it reports any other malformed body.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
import zlib
from typing import Any

from aiohttp import web

from cluster.errors import MlError

#: Elasticsearch's default `http.max_content_length`.
DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024
MAX_CONTENT_LENGTH = web.AppKey("max_content_length", int)
#: Jackson's `StreamReadConstraints` defaults (Elasticsearch lifts only the string length).
MAX_NESTING_DEPTH = 1000
MAX_NUMBER_LENGTH = 1000

#: Media types whose bodies mlsim reads (JSON; the compatible-with forms the clients send).
JSON_MEDIA_TYPES = frozenset({
    "application/json",
    "application/x-ndjson",
    "application/vnd.elasticsearch+json",
    "application/vnd.elasticsearch+x-ndjson",
})

_CONTAINER_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_LONG_DIGITS = re.compile(r"\d{%d}" % (MAX_NUMBER_LENGTH + 1))
_STRING_OR_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*', re.DOTALL)
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN', re.DOTALL)


class ContentTooLarge(Exception):
    """The body is over `http.max_content_length`: Elasticsearch answers 413 with no body and
    closes the connection."""


class SimpleError(Exception):
    """An error Elasticsearch's RestController answers in its flat form
    (`{"error": "...", "status": N}`), before any handler runs."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: Python frames a JSON level may take in the recursive walks of a body (decode, encode, copy).
_FRAMES_PER_LEVEL = 4


def allow_nesting() -> None:
    """Let Python recurse through a body nested as deep as Jackson allows: the default limit
    (1000 frames) is below what decoding, storing and answering 1000 levels take."""
    needed = MAX_NESTING_DEPTH * _FRAMES_PER_LEVEL + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def max_content_length(request: web.Request) -> int:
    return request.app.get(MAX_CONTENT_LENGTH, DEFAULT_MAX_CONTENT_LENGTH)


def check_request(request: web.Request) -> None:
    """What RestController checks before dispatching: the declared size, and that a body
    comes with a JSON media type (ES also reads YAML, CBOR and Smile; mlsim only JSON)."""
    length = request.content_length
    if length is not None and length > max_content_length(request):
        raise ContentTooLarge()
    if not (length or request.headers.get("Transfer-Encoding", "").lower() == "chunked"):
        return
    declared = request.headers.getall("Content-Type", [])
    if not declared:
        raise SimpleError(406, "Content-Type header is missing")
    media_type = declared[0].split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise SimpleError(406, f"Content-Type header [{', '.join(declared)}] is not supported")


async def read_bytes(request: web.Request) -> bytes:
    """The body, decompressed when it says it is gzip or deflate (Netty's decompressor),
    at most `http.max_content_length` bytes either way."""
    limit = max_content_length(request)
    raw = await request.read()
    if len(raw) > limit:
        raise ContentTooLarge()
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return _decompress(raw, zlib.MAX_WBITS | 16, limit, "Input is not in the GZIP format")
    if encoding in ("deflate", "x-deflate"):
        # Netty accepts zlib-wrapped and raw deflate alike.
        wbits = zlib.MAX_WBITS if raw[:1] and (raw[0] & 0x0F) == 8 else -zlib.MAX_WBITS
        return _decompress(raw, wbits, limit, "Input is not in the DEFLATE format")
    return raw


def _decompress(raw: bytes, wbits: int, limit: int, problem: str) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        data = decoder.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise MlError(400, "decompression_exception", f"{problem}: {exc}") from None
    if len(data) > limit:
        raise ContentTooLarge()
    if not decoder.eof:
        raise MlError(400, "decompression_exception", f"{problem}: the compressed body is truncated")
    return data


async def read_text(request: web.Request) -> str:
    """The body as text. Like Jackson, a surrogate encoded on its own in three bytes (what
    Python clients send for `"\\ud800"`) is read as that surrogate; other bytes that are not
    UTF-8 become U+FFFD."""
    return (await read_bytes(request)).decode("utf-8", errors=_LENIENT)


def _lenient(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.start + 3]
    if len(chunk) == 3 and chunk[0] == 0xED and 0xA0 <= chunk[1] <= 0xBF and 0x80 <= chunk[2] <= 0xBF:
        return chunk.decode("utf-8", errors="surrogatepass"), error.start + 3
    return "\ufffd", error.start + 1


_LENIENT = "mlsim-lenient-utf8"
codecs.register_error(_LENIENT, _lenient)


def loads(text: str) -> Any:
    """Any JSON value, within Jackson's limits; `json.JSONDecodeError` otherwise.

    Lone UTF-16 surrogates (`"\\ud800"`) are accepted, as Jackson accepts them; responses
    write them back as escapes (`api.responses`).
    """
    _check_depth(text)
    _check_number_length(text)
    if text.startswith("\ufeff"):  # what `json.loads` refuses before decoding
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        return _DECODER.decode(text)
    except _NonStandardToken as exc:
        raise json.JSONDecodeError(
            f"Non-standard token '{exc.token}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
            text,
            _first_outside_strings(_CONSTANT, text, exc.token),
        ) from None


def _refuse_constant(token: str) -> Any:
    raise _NonStandardToken(token)


#: Built once: `json.loads` with a `parse_constant` builds a decoder (and scanner) per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_NESTING_DEPTH:
        return
    depth = 0
    for match in _CONTAINER_OR_STRING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise json.JSONDecodeError(
                    f"Document nesting depth ({depth}) exceeds the maximum allowed ({MAX_NESTING_DEPTH}, "
                    "from `StreamReadConstraints.getMaxNestingDepth()`)",
                    text,
                    match.start(),
                )
        elif token in "]}":
            depth -= 1


def _check_number_length(text: str) -> None:
    if not _LONG_DIGITS.search(text):
        return
    for match in _STRING_OR_NUMBER.finditer(text):
        token = match.group()
        if not token.startswith('"') and len(token) > MAX_NUMBER_LENGTH:
            raise json.JSONDecodeError(
                f"Number value length ({len(token)}) exceeds the maximum allowed ({MAX_NUMBER_LENGTH}, "
                "from `StreamReadConstraints.getMaxNumberLength()`)",
                text,
                match.start(),
            )


class _NonStandardToken(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _first_outside_strings(pattern: re.Pattern[str], text: str, token: str) -> int:
    for match in pattern.finditer(text):
        if match.group() == token:
            return match.start()
    return 0
