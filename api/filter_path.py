"""`filter_path`: keep (or drop with `-`) parts of a response by dotted path patterns.

Patterns are comma separated; a segment may use `*` (within one key) and a whole `**`
segment matches any depth. Objects and lists left empty by inclusion are dropped, so a
filter that keeps nothing answers `{}`, as Elasticsearch does.
"""

from __future__ import annotations

import fnmatch
from typing import Any

Pattern = tuple[str, ...]
_DROP = object()


def apply_filter_path(body: Any, expression: str | None) -> Any:
    if not expression:
        return body
    tokens = [t.strip() for t in expression.split(",") if t.strip()]
    includes = [tuple(t.split(".")) for t in tokens if not t.startswith("-")]
    excludes = [tuple(t[1:].split(".")) for t in tokens if t.startswith("-")]
    if includes:
        body = _include(body, includes)
        if body is _DROP:
            return {}
    if excludes:
        body = _exclude(body, excludes)
    return body


def _advance(patterns: list[Pattern], key: str) -> tuple[list[Pattern], bool]:
    """Patterns left after matching `key`, and whether one of them ended here."""
    rest: list[Pattern] = []
    done = False
    for pattern in patterns:
        if not pattern:
            continue
        head = pattern[0]
        if head == "**":
            rest.append(pattern)  # `**` may absorb this key too
            tail, tail_done = _advance([pattern[1:]], key)
            rest.extend(tail)
            done = done or tail_done
        elif fnmatch.fnmatchcase(key, head):
            if len(pattern) == 1:
                done = True
            else:
                rest.append(pattern[1:])
    return rest, done


def _include(value: Any, patterns: list[Pattern]) -> Any:
    if isinstance(value, list):
        kept = [v for v in (_include(item, patterns) for item in value) if v is not _DROP]
        return kept or _DROP
    if not isinstance(value, dict):
        return _DROP
    out = {}
    for key, child in value.items():
        rest, done = _advance(patterns, key)
        if done:
            out[key] = child
        elif rest:
            kept = _include(child, rest)
            if kept is not _DROP:
                out[key] = kept
    return out or _DROP


def _exclude(value: Any, patterns: list[Pattern]) -> Any:
    if isinstance(value, list):
        return [_exclude(item, patterns) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, child in value.items():
        rest, done = _advance(patterns, key)
        if done:
            continue
        out[key] = _exclude(child, rest) if rest else child
    return out
