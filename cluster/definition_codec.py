"""Compressed model definitions: base64 of gzipped JSON, as Elasticsearch stores and serves them."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from typing import Any


def compress(definition: dict[str, Any]) -> str:
    """The `compressed_definition` form of an inline definition (stable: no gzip timestamp)."""
    raw = json.dumps(definition, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, mtime=0)).decode()


def decompress(text: str) -> dict[str, Any]:
    """The definition inside `compressed_definition`; ValueError when it is not one."""
    try:
        value = json.loads(gzip.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(value, dict):
        raise ValueError("definition is not an object")
    return value
