"""Start times of many c-server FIFO queues at once, without a Python step per request.

Each queue's recurrence is sequential (a request starts at max(arrival, earliest free
worker), then that worker is free again at start + service), so a Python loop costs a
fraction of a microsecond per request. Here every queue's batch is cut into blocks of
`BLOCK` requests and all blocks of all queues step together, one numpy operation per
position in a block: block b of a queue starts from a guess of the workers' free times
(workers all free), then from the state block b − 1 ended in, until no block's starting
state changes. A wrong guess only matters while it is remembered; a queue forgets its
past whenever its workers catch up, so a few rounds settle every block. Only blocks whose
starting state changed run again.

The arithmetic per request is the recurrence's own (one max, one addition, comparisons),
so the start times are bit-identical to the sequential loop. Worker free times are kept
sorted per block, so "earliest free" is the first column and putting the new free time
back is a sorted insert of 2c − 2 elementwise operations: cheap for the few workers a
route has, which is why callers send only small worker counts here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np

#: Requests per block: shorter blocks need more rounds to settle, longer ones more steps.
BLOCK = 32
#: Largest worker count solved here (the sorted insert grows with it).
MAX_WORKERS = 8


def fifo_starts(
    arrivals: Sequence[np.ndarray], service: Sequence[np.ndarray], free: Sequence[Sequence[float]]
) -> tuple[list[np.ndarray], list[list[float]]]:
    """For each queue (sorted arrivals, service times, its workers' free times), when each
    request starts and the workers' free times afterwards (ascending; a worker free before
    the last arrival may come back as that arrival's time, which is the same thing to any
    later request). Every queue needs 1..`MAX_WORKERS` workers."""
    starts: list[np.ndarray] = [np.empty(0)] * len(arrivals)
    after: list[list[float]] = [sorted(f) for f in free]
    groups: dict[int, list[int]] = defaultdict(list)
    for q, (a, f) in enumerate(zip(arrivals, free)):
        if not 1 <= len(f) <= MAX_WORKERS:
            raise ValueError(f"a queue needs 1 to {MAX_WORKERS} workers here, not {len(f)}")
        if a.size:
            groups[len(f)].append(q)
    for c, queues in groups.items():
        found, ends = _solve(c, [arrivals[q] for q in queues], [service[q] for q in queues], [after[q] for q in queues])
        for q, s, e in zip(queues, found, ends):
            starts[q], after[q] = s, e
    return starts, after


def _solve(c: int, arrivals, service, free) -> tuple[list[np.ndarray], list[list[float]]]:
    """All queues with `c` workers: blocks as columns, positions in a block as rows."""
    sizes = np.array([a.size for a in arrivals])
    blocks = -(-sizes // BLOCK)
    first_block = np.concatenate(([0], np.cumsum(blocks)[:-1]))
    width = int(blocks.sum())
    local = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    where = (local % BLOCK) * width + np.repeat(first_block, sizes) + local // BLOCK
    # padding (a = -inf, s = 0) starts at the earliest free time and puts it back unchanged
    a = np.full(BLOCK * width, -math.inf)
    a[where] = np.concatenate(arrivals)
    a = a.reshape(BLOCK, width)
    s = np.zeros(BLOCK * width)
    s[where] = np.concatenate(service)
    s = s.reshape(BLOCK, width)
    state = np.full((c, width), -math.inf)
    state[:, first_block] = np.array(free, dtype=float).T
    last_block = first_block + blocks - 1
    followed = np.ones(width, dtype=bool)
    followed[last_block] = False
    started = np.empty((BLOCK, width))
    ended = np.empty((c, width))
    active = np.arange(width)
    while active.size:
        started[:, active], ended[:, active] = _run_blocks(state[:, active], a[:, active], s[:, active])
        done = active[followed[active]]
        nxt = done + 1
        # free times before the next block's first arrival all mean "free": compare them as that
        carried = np.maximum(ended[:, done], a[0, nxt])
        changed = np.any(carried != state[:, nxt], axis=0)
        state[:, nxt[changed]] = carried[:, changed]
        active = nxt[changed]
    flat = started.reshape(-1)[where]
    return np.split(flat, np.cumsum(sizes)[:-1]), ended[:, last_block].T.tolist()


def _run_blocks(state: np.ndarray, a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step every block through its positions from `state` (sorted free times per column)."""
    free = list(state)
    started = np.empty_like(a)
    for j in range(a.shape[0]):
        start = np.maximum(a[j], free[0])
        started[j] = start
        free = _insert_sorted(free[1:], start + s[j])
    return started, np.array(free)


def _insert_sorted(rest: list[np.ndarray], value: np.ndarray) -> list[np.ndarray]:
    """`rest` (ascending per column) with `value` inserted in order."""
    if not rest:
        return [value]
    out = [np.minimum(rest[0], value)]
    for low, high in zip(rest, rest[1:]):
        out.append(np.maximum(low, np.minimum(high, value)))
    out.append(np.maximum(rest[-1], value))
    return out
