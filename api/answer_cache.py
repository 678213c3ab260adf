"""Rendered answers kept while what they show cannot have changed.

A read answer (stats, listings) depends on the cluster state, on simulated time (timestamps,
traffic counters, throughput minutes) and on the request (path, query string, the media type
asked for). Every state transition appends to the event log (see design.md), so the log's next
sequence number together with `env.now` stamps what the cluster shows: while both stay the
same, the same request gets the same bytes. Only successful answers are kept (an error is
raised before anything is stored), so a hit never skips a check that could fail.
"""

from __future__ import annotations

import weakref
from typing import Callable, Hashable

from aiohttp import web

from cluster.cluster import Cluster

#: Distinct requests kept per stamp (a scraper asks a handful; anything beyond is recomputed).
MAX_ENTRIES = 64

Key = tuple[str, str, str, str]


class AnswerCache:
    """Answers (body bytes and content type) for one stamp of one cluster."""

    def __init__(self) -> None:
        self._stamp: tuple[int, float, Hashable] | None = None
        self._answers: dict[Key, tuple[bytes, str]] = {}

    def respond(self, cluster: Cluster, request: web.Request, compute: Callable[[], web.Response],
                extra: Hashable = None) -> web.Response:
        """The cached answer to `request` if the cluster still shows the same, else
        `compute()`'s (kept when it is a plain 200 with a body); `extra` stamps what the
        answer shows beyond the event log and the clock."""
        stamp = (cluster.log.next_seq, cluster.env.now, extra)
        if stamp != self._stamp:
            self._stamp = stamp
            self._answers = {}
        headers = request.headers
        key = (request.path, request.query_string, headers.get("Accept", ""), headers.get("Content-Type", ""))
        hit = self._answers.get(key)
        if hit is not None:
            return web.Response(body=hit[0], headers={"Content-Type": hit[1]})
        response = compute()
        if (
            response.status == 200
            and isinstance(response.body, bytes)
            and set(response.headers) <= {"Content-Type"}
            and len(self._answers) < MAX_ENTRIES
            and stamp == (cluster.log.next_seq, cluster.env.now, extra)
        ):
            self._answers[key] = (response.body, response.headers["Content-Type"])
        return response


_caches: "weakref.WeakKeyDictionary[Cluster, dict[str, AnswerCache]]" = weakref.WeakKeyDictionary()


def answer_cache(cluster: Cluster, name: str) -> AnswerCache:
    """The cache named `name` (one per endpoint family) of `cluster`."""
    caches = _caches.get(cluster)
    if caches is None:
        caches = _caches[cluster] = {}
    cache = caches.get(name)
    if cache is None:
        cache = caches[name] = AnswerCache()
    return cache
