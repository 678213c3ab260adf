"""`GET /_sim/ui` and its assets: a page that draws the cluster from the public APIs (and
`GET /_sim/latency`, see `latency`, for the p99 those cannot give).

No build step and nothing from the network: the HTML, script and stylesheet ship in this
package (`static/`) and the Content-Security-Policy lets the page talk to this server only.
An asset name not in `static/` is an unknown path (ES's "no handler" answer).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from aiohttp import web

from ..context import cluster_of
from .latency import latency, watch

routes = web.RouteTableDef()
routes.get("/_sim/latency")(latency)

#: Served assets by file suffix; anything else in `static/` is not served.
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
#: Same-origin only: the page's script, style and API calls; a chosen run file is read locally.
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
PAGE = "index.html"


@cache
def _asset(name: str) -> tuple[str, str] | None:
    """(text, media type) of a shipped asset, or None."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix not in MEDIA_TYPES or "/" in name:
        return None
    path = resources.files(__package__).joinpath("static", name)
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8"), MEDIA_TYPES[suffix]


def _serve(name: str) -> web.Response:
    found = _asset(name)
    if found is None:
        raise web.HTTPNotFound()
    text, media_type = found
    response = web.Response(text=text, content_type=media_type, charset="utf-8")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


@routes.get("/_sim/ui")
async def page(request: web.Request) -> web.Response:
    watch(cluster_of(request))  # the page's p99 counts from when it is first opened
    return _serve(PAGE)


@routes.get("/_sim/ui/{asset}")
async def asset(request: web.Request) -> web.Response:
    return _serve(request.match_info["asset"])
