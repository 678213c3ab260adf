"""The cat APIs' table: column selection (`h`), sorting (`s`), header (`v`), `help`, `format`.

Columns have a name, short aliases and a description; cells are strings (JSON output keeps
them as strings too, as Elasticsearch does).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from cluster.errors import illegal_argument
from scheduler import format_bytes

from .params import Query
from .responses import render, render_text

CAT_PARAMS = ("format", "h", "help", "s", "v", "bytes", "time")
BYTE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    description: str
    default: bool
    cell: Callable[[Any], Any]
    right: bool = False


def _select(columns: list[Column], spec: str | None) -> list[tuple[Column, str]]:
    """The chosen columns with the header each shows: a column asked for by one of its
    aliases is headed by that alias, as ES does."""
    if not spec:
        return [(c, c.name) for c in columns if c.default]
    chosen: list[tuple[Column, str]] = []
    for token in (t.strip() for t in spec.split(",") if t.strip()):
        hits = [(c, token if token in c.aliases else c.name)
                for c in columns if fnmatch.fnmatchcase(c.name, token) or token in c.aliases]
        if not hits:
            raise illegal_argument(f"header name [{token}] does not exist in header names")
        chosen.extend(h for h in hits if h[0] not in [c for c, _ in chosen])
    return chosen


def _sort(rows: list[dict[str, Any]], columns: list[Column], spec: str | None) -> list[dict[str, Any]]:
    for token in reversed([t.strip() for t in (spec or "").split(",") if t.strip()]):
        name, _, order = token.partition(":")
        column = next((c for c in columns if c.name == name or name in c.aliases), None)
        if column is None:
            raise illegal_argument(f"Unable to sort by unknown sort key `{name}`")
        rows = sorted(rows, key=lambda r: (r[column.name] is None, r[column.name]), reverse=order == "desc")
    return rows


def render_table(request: web.Request, columns: list[Column], items: list[Any], extra: tuple[str, ...] = ()) -> web.Response:
    query = Query(request, (*CAT_PARAMS, *extra))
    if query.bool("help"):
        width = max(len(c.name) for c in columns)
        lines = [f"{c.name:<{width}} | {','.join(c.aliases):<10} | {c.description}" for c in columns]
        return render_text(request, "\n".join(lines) + "\n")
    unit = query.str("bytes")
    if unit is not None and unit not in BYTE_UNITS:
        raise illegal_argument(f"Unsupported [bytes] value [{unit}]; expected one of [{', '.join(BYTE_UNITS)}]")
    raw = [{c.name: c.cell(item) for c in columns} for item in items]
    raw = _sort(raw, columns, query.str("s"))
    selection = _select(columns, query.str("h"))
    chosen = [c for c, _ in selection]
    headers = [header for _, header in selection]
    rows = [[_show(row[c.name], unit) for c in chosen] for row in raw]
    fmt = query.str("format", "text")
    if fmt == "json":
        return render(request, [dict(zip(headers, row)) for row in rows])
    if fmt != "text":
        raise illegal_argument(f"Unsupported format [{fmt}]")
    table = ([headers] if query.bool("v") else []) + rows
    widths = [max((len(r[i]) for r in table), default=0) for i in range(len(chosen))]
    lines = [
        " ".join(cell.rjust(w) if c.right else cell.ljust(w) for cell, w, c in zip(r, widths, chosen)).rstrip()
        for r in table
    ]
    return render_text(request, "".join(line + "\n" for line in lines))


class Bytes(int):
    """A byte count: rendered human-readable unless `bytes=` asks for a unit."""


def _show(value: Any, unit: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Bytes):
        return format_bytes(value) if unit is None else str(value // BYTE_UNITS[unit])
    return str(value)
