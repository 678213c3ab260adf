"""Elasticsearch's identifier rules and id-expression matching (comma lists, wildcards)."""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable

ID_LENGTH_LIMIT = 64
_VALID_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-\.]*[a-z0-9])?")
_VALID_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9_\-\.]*[a-z])?")


def id_problem(kind: str, value: str) -> str | None:
    """Why `value` is not a valid `kind` id (None when it is)."""
    if not _VALID_ID.fullmatch(value):
        return (
            f"Invalid {kind}; '{value}' can contain lowercase alphanumeric (a-z and 0-9), "
            "hyphens or underscores; must start and end with alphanumeric"
        )
    if len(value) > ID_LENGTH_LIMIT:
        return f"Invalid {kind}; '{value}' cannot contain more than {ID_LENGTH_LIMIT} characters."
    return None


def alias_problem(alias: str) -> str | None:
    """Why `alias` is not a valid model alias (aliases may not end in digits)."""
    if _VALID_ALIAS.fullmatch(alias):
        return None
    return (
        f"Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), "
        "hyphens or underscores; must start with alphanumeric and cannot end with numbers"
    )


def split_expression(expression: str | None) -> list[str]:
    """`a,b*` → ['a', 'b*']; empty, `_all` and `*` all mean everything."""
    if expression is None or expression.strip() in ("", "_all"):
        return ["*"]
    return [token.strip() for token in expression.split(",") if token.strip()]


def expand(expression: str | None, candidates: Iterable[str]) -> tuple[list[str], list[str]]:
    """Sorted ids matching the expression, and the tokens that matched nothing."""
    names = sorted(set(candidates))
    matched: set[str] = set()
    unmatched: list[str] = []
    for token in split_expression(expression):
        hits = [n for n in names if fnmatch.fnmatchcase(n, token)] if "*" in token else (
            [token] if token in names else []
        )
        if hits:
            matched.update(hits)
        else:
            unmatched.append(token)
    return sorted(matched), unmatched
