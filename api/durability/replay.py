"""Replaying entries through the app: each request is sent over loopback HTTP to the same
handlers a client reaches, at the simulated time it first arrived.

The cluster replays in the virtual clock, so a request that waited for a simulated
condition (a start with `wait_for`, an `_infer`) steps the simulation itself, as it did
when recorded in the virtual clock; between entries the clock moves to the next entry's
time. Answers are read and dropped: a request that failed when recorded fails the same way.
"""

from __future__ import annotations

import base64
from typing import Any, Iterable

from aiohttp import ClientSession, ClientTimeout, web
from yarl import URL

from cluster.cluster import Cluster
from cluster.restart import full_restart

from ..app import create_app


async def replay(cluster: Cluster, entries: Iterable[dict[str, Any]]) -> int:
    """Apply `entries` to `cluster` (in the virtual clock); returns how many requests were sent."""
    runner = web.AppRunner(create_app(cluster))
    await runner.setup()
    sent = 0
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with ClientSession(timeout=ClientTimeout(total=None), auto_decompress=False) as session:
            for entry in entries:
                if entry["t"] > cluster.now:
                    cluster.advance(entry["t"] - cluster.now)
                if entry["kind"] == "request":
                    await _send(session, base, entry)
                    sent += 1
                elif entry["kind"] == "restart":
                    full_restart(cluster)
    finally:
        await runner.cleanup()
    return sent


async def _send(session: ClientSession, base: str, entry: dict[str, Any]) -> None:
    if "body64" in entry:
        body = base64.b64decode(entry["body64"])
    else:
        body = entry.get("body", "").encode("utf-8")
    headers = dict(entry.get("headers", {}))
    skip = () if "Content-Type" in headers else ("Content-Type",)
    url = URL(base + entry["path"], encoded=True)
    async with session.request(entry["method"], url, data=body or None, headers=headers, skip_auto_headers=skip) as answer:
        await answer.read()
