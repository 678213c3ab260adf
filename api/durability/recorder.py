"""Recording what changes the cluster: every request that can change simulated state, with
the simulated time it arrived at, journaled (and fsynced, with `--data`) before its answer
is sent.

All state changes enter through the aiohttp app, so the requests are the history: writes
(PUT, POST, DELETE, including `_infer` and `_predict`, which move queues, counters and
draws), plus the GETs that serve traffic up to now (stats reads cut the traffic into the
windows later draws depend on). Simulated time moving by itself (the realtime clock) is
recorded as `clock` entries once a wall second, and a restart as a `restart` entry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any, AsyncIterator, Iterable

from aiohttp import web

from cluster.cluster import Cluster

from ..responses import render, render_encoded
from .entries import EntryLog
from .files import Journal
from .snapshot import encode

#: GETs whose handler serves traffic windows up to now (see `cluster.serving.Serving.sync`).
STATEFUL_READS = frozenset({
    "/_ml/trained_models/_stats", "/_ml/trained_models/{model_id}/_stats", "/_sim/latency",
    "/_nodes/stats", "/_nodes/stats/{metric}", "/_nodes/{node_id}/stats", "/_nodes/{node_id}/stats/{metric}",
})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Headers that change how a request is read or answered.
RECORDED_HEADERS = ("Content-Type", "Accept")
#: A definition part's content is never read (only its presence and the sizes), so the
#: journal keeps the part's sizes and an empty definition: eland's 4 MiB chunks stay small.
DEFINITION_PART = "/_ml/trained_models/{model_id}/definition/{part}"
#: Wall seconds between `clock` entries of a realtime clock.
CLOCK_ENTRY_EVERY = 1.0


class Recorder:
    """The history of one served cluster: the world it was built from, its entries in
    memory, and the journal they are appended to (none without `--data`)."""

    def __init__(
        self, cluster: Cluster, world: dict[str, Any], entries: Iterable[dict[str, Any]], journal: Journal | None = None
    ) -> None:
        self.cluster = cluster
        self.world = world
        self.entries = EntryLog(entries)
        self.journal = journal
        self.next_seq = self.entries.last_seq + 1
        self._synced = self.next_seq - 1
        self._syncing: asyncio.Future | None = None

    def append(self, kind: str, **fields: Any) -> None:
        line = self.entries.append({"seq": self.next_seq, "t": self.cluster.now, "kind": kind, **fields})
        self.next_seq += 1
        if self.journal is not None:
            self.journal.append_line(line)

    async def commit(self) -> None:
        """Return once everything appended so far is on disk (at once without a journal).

        The fsync runs in a worker thread, so the loop keeps answering, and writers that
        arrive while one runs share the next (group commit)."""
        if self.journal is None:
            return
        target = self.next_seq - 1
        while self._synced < target:
            if self._syncing is None:
                upto = self.next_seq - 1
                self._syncing = asyncio.get_running_loop().run_in_executor(None, self.journal.sync)
                try:
                    await self._syncing
                    self._synced = max(self._synced, upto)
                finally:
                    self._syncing = None
            else:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._syncing)
                await asyncio.sleep(0)  # let the owner of that fsync record what it covered

    def snapshot(self) -> bytes:
        return encode(self.world, self.entries)


RECORDER = web.AppKey("recorder", Recorder)


def install(app: web.Application, recorder: Recorder) -> None:
    """Record `app`'s requests with `recorder`, serve `GET /_sim/snapshot`, and mark the
    realtime clock's progress."""
    app[RECORDER] = recorder
    app.middlewares.append(record_requests)
    app.router.add_get("/_sim/snapshot", get_snapshot)
    if recorder.cluster.clock.mode == "realtime":
        app.cleanup_ctx.append(_mark_clock)
    if recorder.journal is not None:
        app.on_cleanup.append(_close_journal)


async def _close_journal(app: web.Application) -> None:
    journal = app[RECORDER].journal
    if journal is not None:
        journal.sync()
        journal.close()


@web.middleware
async def record_requests(request: web.Request, handler) -> web.StreamResponse:
    recorder = request.app[RECORDER]
    if not _changes_state(request, recorder.cluster):
        return await handler(request)
    body = await request.read()
    recorder.append("request", **request_fields(request, body))
    try:
        return await handler(request)
    finally:
        await recorder.commit()  # on disk before the answer, whatever the answer is


def _changes_state(request: web.Request, cluster: Cluster) -> bool:
    info = request.match_info
    if info.http_exception is not None or info.route.resource is None:
        return False  # no handler ran: nothing changed
    canonical = info.route.resource.canonical
    if request.method in READ_METHODS:
        # a read at an instant already served changes nothing: polls add no entries
        return request.method == "GET" and canonical in STATEFUL_READS and not cluster.serving.up_to_date()
    return True


def request_fields(request: web.Request, body: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {"method": request.method, "path": request.raw_path}
    found = request.headers
    headers = {name: value for name in RECORDED_HEADERS if (value := found.get(name)) is not None}
    if headers:
        fields["headers"] = headers
    if body:
        if request.match_info.route.resource.canonical == DEFINITION_PART:
            body = _without_definition(body)
        try:
            fields["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            fields["body64"] = base64.b64encode(body).decode("ascii")
    return fields


def _without_definition(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and isinstance(data.get("definition"), str):
        data["definition"] = ""
        return json.dumps(data).encode("utf-8")
    return body


async def get_snapshot(request: web.Request) -> web.Response:
    """The cluster's world and history: a file `mlsim serve --restore FILE` loads. Joined
    from the recorded lines (re-encoding a long history would hold the loop for seconds);
    `pretty` asks for it decoded and printed again."""
    snapshot = request.app[RECORDER].snapshot()
    if request.query.get("pretty") in ("", "true"):
        return render(request, json.loads(snapshot), filtered=False)
    return render_encoded(request, snapshot)


async def _mark_clock(app: web.Application) -> AsyncIterator[None]:
    """A `clock` entry once a wall second while realtime time moves, so a restart comes
    back at (about) the time it went down."""

    async def mark() -> None:
        recorder = app[RECORDER]
        while True:
            await asyncio.sleep(CLOCK_ENTRY_EVERY)
            if recorder.cluster.now > recorder.entries.last_time:
                recorder.append("clock")
                await recorder.commit()

    task = asyncio.create_task(mark())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
