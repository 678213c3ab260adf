"""REST calls into the same aiohttp app a user reaches, in process and without a socket:
a scenario's `request` action can do whatever the API can, through the one implementation.

The request is built with aiohttp's `make_mocked_request` and handed to the application's
request handler, so routing, middlewares (error rendering, `filter_path`) and handlers run
as for a served request; handlers that wait on simulated time step the experiment clock.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import streams, web
from aiohttp.test_utils import make_mocked_request

from cluster.cluster import Cluster

from ..app import create_app


class _NoFlowControl:
    """The protocol side a body stream pauses and resumes; the whole body is already here."""

    _reading_paused = False

    def pause_reading(self, **_: object) -> None:
        pass

    def resume_reading(self, **_: object) -> None:
        pass


class InProcessClient:
    """Answers REST calls with the cluster's app: `(status, parsed body or text)`."""

    def __init__(self, cluster: Cluster) -> None:
        self.app = create_app(cluster)
        self.app.freeze()
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        self._loop.close()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self._loop.run_until_complete(self._call(method.upper(), path, body))

    async def _call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if body is None:
            data = b""
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        reader = streams.StreamReader(_NoFlowControl(), max(len(data), 1) * 2, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
        reader.feed_data(data)
        reader.feed_eof()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))} if data else {}
        request = make_mocked_request(method, path, headers=headers, app=self.app, payload=reader)
        try:
            response = await self.app._handle(request)
        except web.HTTPException as exc:  # raised by routing (404/405) when no middleware renders it
            response = exc
        payload = response.body if isinstance(response, web.Response) else b""
        text = payload.decode("utf-8") if isinstance(payload, bytes) else ""
        try:
            return response.status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return response.status, text
