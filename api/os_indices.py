"""OpenSearch dialect: indices endpoints (`/_plugins/_ml/...`)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
