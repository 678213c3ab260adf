"""The simulator's own control plane (`/_sim/...`)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the /_sim work."""
