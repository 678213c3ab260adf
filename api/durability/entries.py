"""A served cluster's recorded entries, kept compact.

A load test records an entry per `_infer`. Held as dicts they took ~850 bytes each, and
every full garbage collection walked all of them: after 200,000 requests a collection
paused the server for a quarter of a second. Here an entry is its `seq` and `t` in typed
arrays plus the JSON of everything else, stored once however often it recurs (a load test
sends the same request over and over): ~20 bytes per repeated request, the JSON's length
per new one, and nothing the collector walks. Entries are decoded only to write or serve
a whole snapshot; their lines are the journal's lines.
"""

from __future__ import annotations

import json
from array import array
from typing import Any, Iterable, Iterator

_COMPACT = (",", ":")


class EntryLog:
    """Entries in the order they were appended; iterating decodes them."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()) -> None:
        self._seq = array("q")
        self._time = array("d")
        self._body = array("L")  # index into _bodies
        self._bodies: list[bytes] = []  # the JSON of an entry's other fields, each once
        self._body_index: dict[bytes, int] = {}
        for entry in entries:
            self.append(entry)

    @property
    def last_seq(self) -> int:
        return self._seq[-1] if self._seq else 0

    @property
    def last_time(self) -> float:
        return self._time[-1] if self._time else 0.0

    def append(self, entry: dict[str, Any]) -> bytes:
        """Keep `entry` (which has `seq` and `t`); returns its line."""
        body = json.dumps({k: v for k, v in entry.items() if k not in ("seq", "t")}, separators=_COMPACT).encode("ascii")
        index = self._body_index.setdefault(body, len(self._bodies))
        if index == len(self._bodies):
            self._bodies.append(body)
        self._seq.append(entry["seq"])
        self._time.append(entry["t"])
        self._body.append(index)
        return _line(entry["seq"], entry["t"], body)

    def lines(self) -> list[bytes]:
        """Every entry's line: compact JSON, ASCII only (the journal's and the snapshot's form)."""
        bodies = self._bodies
        return [_line(seq, t, bodies[k]) for seq, t, k in zip(self._seq, self._time, self._body)]

    def __len__(self) -> int:
        return len(self._seq)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (json.loads(line) for line in self.lines())


def _line(seq: int, t: float, body: bytes) -> bytes:
    """`{"seq":…,"t":…,` and the other fields: what `json.dumps` gives for the whole entry
    when `seq` and `t` come first (times are floats, printed the same by both)."""
    head = b'{"seq":%d,"t":%s' % (seq, repr(float(t)).encode("ascii"))
    return head + (b"}" if body == b"{}" else b"," + body[1:])


def encode_entry(entry: dict[str, Any]) -> bytes:
    """One entry's line (for a journal written without a log)."""
    return json.dumps(entry, separators=_COMPACT).encode("ascii")
