"""How `/_sim/ui` is served: from package data, same-origin only, unknown assets refused."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from cluster.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "api" / "ui" / "static"


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(clock="virtual")


async def test_the_page_is_html_that_may_talk_to_its_own_server_only(http):
    response = await http.get("/_sim/ui")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = dict(p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert {policy[d] for d in ("script-src", "style-src", "connect-src")} == {"'self'"}
    page = await response.text()
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page)
    assert sorted(assets) == ["/_sim/ui/app.css", "/_sim/ui/app.js"]
    for path, media_type in zip(sorted(assets), ("text/css", "text/javascript")):
        asset = await http.get(path)
        assert asset.status == 200 and asset.headers["Content-Type"] == f"{media_type}; charset=utf-8"
        assert (await asset.text()) == (STATIC / path.rsplit("/", 1)[1]).read_text()


@pytest.mark.parametrize("path", ["/_sim/ui/nope.js", "/_sim/ui/routes.py", "/_sim/ui/..%2Froutes.py", "/_sim/ui/app"])
async def test_anything_else_under_the_page_is_an_unknown_path(http, path):
    response = await http.get(path)
    assert response.status == 400
    assert (await response.json())["error"].startswith("no handler found for uri [")


def test_every_static_file_ships_in_the_package():
    """pyproject's package-data globs cover each file the page needs (a wheel would lack it)."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["api.ui"]
    files = sorted(p.relative_to(STATIC.parent).as_posix() for p in STATIC.iterdir())
    assert files and [f for f in files if not any(fnmatch(f, g) for g in globs)] == []
