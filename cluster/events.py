"""The event log: every state transition with its simulated time and cause.

Bounded in memory (old entries fall off, sequence numbers keep counting) and exportable
as JSON lines with sorted keys, so the same inputs and seed give a byte-identical log.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TextIO


@dataclass(frozen=True, slots=True)
class Event:
    """One transition. `measured` holds wall-clock measurements (a plan's compute time):
    shown in listings, left out of the JSON-lines export so that stays byte-identical."""

    seq: int
    time: float
    kind: str
    cause: str
    fields: dict[str, Any]
    measured: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        body = self._replayable()
        if self.measured:
            body["measured"] = dict(self.measured)
        return body

    def to_json(self) -> str:
        return json.dumps(self._replayable(), sort_keys=True, separators=(",", ":"))

    def _replayable(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "event": self.kind, "cause": self.cause, **self.fields}


class EventLog:
    """Append-only and bounded; sequence numbers keep counting as old entries fall off."""

    def __init__(self, now: Callable[[], float], capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("[capacity] must be a positive integer")
        self._now = now
        self._events: deque[Event] = deque(maxlen=capacity)
        self._next_seq = 0

    def append(self, kind: str, cause: str, measured: dict[str, float] | None = None, **fields: Any) -> Event:
        event = Event(self._next_seq, round(self._now(), 9), kind, cause, fields, measured)
        self._next_seq += 1
        self._events.append(event)
        return event

    @property
    def next_seq(self) -> int:
        """Sequence number the next event will get (= number of events ever appended)."""
        return self._next_seq

    def since(self, seq: int = 0) -> list[Event]:
        """Retained events with sequence number ≥ `seq`."""
        if not self._events or seq <= self._events[0].seq:
            return list(self._events)
        start = seq - self._events[0].seq
        return [self._events[i] for i in range(start, len(self._events))]

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def write_jsonl(self, out: TextIO, since: int = 0) -> None:
        for event in self.since(since):
            out.write(event.to_json())
            out.write("\n")
