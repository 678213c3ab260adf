"""One route's inference server, driven by batches of arrivals instead of simpy events.

A route is `allocations` parallel workers fed from one FIFO queue of `queue_capacity`
waiting requests. One simpy process per request tops out near 50k requests/s, so the
cluster hands this engine every arrival between two control events (allocation change,
stop, stats tick) as one sorted numpy array. Start times follow the c-server FIFO
recurrence. `run_together` serves one batch on each of many queues at once: routes with
few workers go through `nodes.fifo_blocks` (all blocks of all routes step together in
numpy); a route whose batch would reject or time out a request, uses a cache, or has many
workers takes the per-request loop over a heap of worker free times, where stretches in
which every request finds a free worker are solved with numpy alone (see
`_no_wait_prefix`). Both paths do the same arithmetic, so they give the same start times
to the bit. State (worker free times, queued requests, answers not yet due) carries
across batches, so control events cut cleanly between them.

Semantics, chosen to follow Elasticsearch where known:
- A request arriving while `queue_capacity` requests wait is rejected at once with
  `REJECTED_REASON` (429). The waiting room excludes requests being served.
- A request whose wait would exceed its timeout is answered as a timeout at
  arrival + timeout; it keeps its queue slot until a worker reaches it and skips it.
- A cache hit (key seen among the last `cache_entries` distinct keys served, LRU) waits
  its FIFO turn, then is answered in 0 ms without using a worker. Hits never fail.
- A failed inference (see `InferenceProfile.error_probability`) uses its worker's time
  and counts in `error_count`, not in `inference_count`.
- Inference time in the stats is the service time (as the native process measures it),
  not the queue wait. Counters include an answer only once simulated time reaches it.
- Throughput windows are whole minutes since the route started.

Requests already queued when allocations change keep the start times they were given;
the new worker count applies to later arrivals (a decrease keeps the workers that are
busy longest, so at most the new count run once the surplus has finished).
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import count, islice, repeat
from typing import Sequence

import numpy as np

from .fifo_blocks import MAX_WORKERS, fifo_starts
from .service_model import InferenceProfile

REJECTED_REASON = "inference process queue is full. Unable to execute command"
#: The _infer API's default timeout.
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_QUEUE_CAPACITY = 1024
MINUTE_SECONDS = 60.0
#: Loop iterations that must find a free worker before trying the numpy path again.
_MIN_STREAK = 32
_MAX_STREAK = 4096
#: Largest stretch the numpy path examines at once.
_MAX_CHUNK = 1 << 16
#: Batches up to this size go straight through the loop: numpy's fixed cost per call is
#: worth more than the loop's fraction of a microsecond per request (same start times).
_LOOP_ONLY = 128
#: Fewest requests in one `run_together` call for the block solver to pay for its
#: fixed numpy cost (below, the per-request loop is faster; results are the same).
JOINT_MIN_REQUESTS = 2048


#: Shared read-only empties for batches in which nothing arrives.
_NO_TIMES = np.empty(0)
_NO_TIMES.flags.writeable = False
_NO_OUTCOMES = np.empty(0, dtype=np.int8)
_NO_OUTCOMES.flags.writeable = False


class Outcome(IntEnum):
    OK = 0
    CACHE_HIT = 1
    ERROR = 2
    REJECTED = 3
    TIMEOUT = 4


# plain ints for the per-batch arithmetic (enum member lookups cost per call)
OK, CACHE_HIT, ERROR, REJECTED, TIMEOUT = (int(o) for o in Outcome)
_OUTCOME_COUNT = len(Outcome)


@dataclass(slots=True)
class _Marks:
    """What the loop found, applied to the batch's arrays at once afterwards."""

    waited: list[int] = field(default_factory=list)
    waited_start: list[float] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    timed_out: list[int] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per request of one batch: outcome, when a worker took it (nan if rejected), and
    when the caller gets its answer (the latency is `answered - arrivals`)."""

    arrivals: np.ndarray
    outcome: np.ndarray
    started: np.ndarray
    answered: np.ndarray

    @property
    def waits(self) -> np.ndarray:
        return self.started - self.arrivals

    @property
    def leaves(self) -> np.ndarray:
        """When each request stopped counting as pending: its answer, or for a timeout the
        moment a worker reached it and skipped it (a rejected one never entered: its arrival)."""
        return np.where(self.outcome == TIMEOUT, self.started, self.answered)


@dataclass(frozen=True, slots=True)
class Batch:
    """One queue's arrivals for `run_together` (the arguments of `InferenceQueue.run`)."""

    queue: "InferenceQueue"
    arrivals: np.ndarray
    until: float
    keys: Sequence | None = None
    timeout_seconds: float | None = None


@dataclass(slots=True)
class _Work:
    """A batch being served: its draws and what scheduling found."""

    a: np.ndarray
    until: float
    keys: Sequence | None
    timeout: float
    service: np.ndarray
    errors: np.ndarray | None
    outcome: np.ndarray
    started: np.ndarray

    @property
    def uses_cache(self) -> bool:
        return self.keys is not None


@dataclass(frozen=True, slots=True)
class RouteStats:
    """A route's inference counters at one instant, named as in the deployment stats."""

    inference_count: int
    inference_cache_hit_count: int
    error_count: int
    rejected_execution_count: int
    timeout_count: int
    inference_time_ms_sum: float
    inference_time_ms_sum_excluding_cache_hits: float
    last_access: float | None
    number_of_pending_requests: int
    peak_throughput_per_minute: int
    throughput_last_minute: int
    average_inference_time_ms_last_minute: float | None
    inference_cache_hit_count_last_minute: int

    @property
    def average_inference_time_ms(self) -> float | None:
        return self.inference_time_ms_sum / self.inference_count if self.inference_count else None

    @property
    def average_inference_time_ms_excluding_cache_hits(self) -> float | None:
        misses = self.inference_count - self.inference_cache_hit_count
        return self.inference_time_ms_sum_excluding_cache_hits / misses if misses else None


class InferenceQueue:
    """The server of one route of one deployment on one node."""

    def __init__(
        self,
        profile: InferenceProfile,
        rng: np.random.Generator,
        allocations: int,
        threads_per_allocation: int = 1,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        cache_entries: int = 0,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        start_time: float = 0.0,
    ) -> None:
        if allocations < 0:
            raise ValueError("[allocations] must not be negative")
        if queue_capacity < 0:
            raise ValueError("[queue_capacity] must not be negative")
        if cache_entries < 0:
            raise ValueError("[cache_entries] must not be negative")
        self.profile = profile
        self.threads_per_allocation = threads_per_allocation
        self.queue_capacity = queue_capacity
        self.timeout_seconds = timeout_seconds
        self.start_time = start_time
        self._rng = rng
        self._now = start_time
        self._free: list[float] = [start_time] * allocations
        self._queued: deque[float] = deque()
        self._cache: OrderedDict | None = OrderedDict() if cache_entries else None
        self._cache_entries = cache_entries
        self._streak = _MIN_STREAK
        # answers not yet due: (due time, outcome, service ms); in-flight leave times
        self._due_time = np.empty(0)
        self._due_outcome = np.empty(0, dtype=np.int8)
        self._due_ms = np.empty(0)
        self._leaves = np.empty(0)
        self._counts = np.zeros(len(Outcome), dtype=np.int64)
        self._ms_sum = 0.0
        self._ms_sum_misses = 0.0
        self._last_access: float | None = None
        self._minutes: dict[int, list[float]] = {}
        self._peak = 0

    # -- control -------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    @property
    def allocations(self) -> int:
        return len(self._free)

    @property
    def caches(self) -> bool:
        """Whether repeated inputs can hit a result cache (then keys matter)."""
        return self._cache is not None

    def clear_cache(self) -> None:
        """Forget every cached result (the clear-cache API); hit counts so far stay."""
        if self._cache is not None:
            self._cache.clear()

    def resize(self, allocations: int) -> None:
        """Change the worker count at `now`; queued requests keep their schedule."""
        if allocations < 0:
            raise ValueError("[allocations] must not be negative")
        free = sorted(self._free)
        if allocations >= len(free):
            free += [self._now] * (allocations - len(free))
        else:
            free = free[len(free) - allocations :]
        heapq.heapify(free)
        self._free = free

    def idle_at(self) -> float:
        """When everything accepted so far has left the route (a graceful stop's end)."""
        return max(self._now, float(self._leaves.max(initial=self._now)))

    # -- traffic -------------------------------------------------------------------

    def run(
        self,
        arrivals: np.ndarray,
        until: float,
        keys: Sequence | None = None,
        timeout_seconds: float | None = None,
    ) -> BatchResult:
        """Serve `arrivals` (sorted, in [now, until)) and move the route's clock to `until`.

        `keys` (one per arrival) identify inputs for the cache; `timeout_seconds`
        overrides the route's timeout for this batch.
        """
        if not len(arrivals) and np.ndim(arrivals) == 1 and not (keys is not None and len(keys)):
            self.advance(until)  # time moves, nothing arrives: no draw, no scheduling
            return BatchResult(_NO_TIMES, _NO_OUTCOMES, _NO_TIMES, _NO_TIMES)
        return run_together([Batch(self, arrivals, until, keys, timeout_seconds)])[0]

    def _begin(self, batch: Batch) -> _Work:
        """Check a batch and draw its service times and failures (in this order, so a
        seeded route replays whichever path serves it)."""
        a = np.asarray(batch.arrivals, dtype=float)
        self._check_batch(a, batch.until, batch.keys)
        n = a.size
        service = self.profile.sample_seconds(self._rng, n, self.threads_per_allocation)
        errors = self.profile.sample_errors(self._rng, n)
        timeout = self.timeout_seconds if batch.timeout_seconds is None else batch.timeout_seconds
        keys = batch.keys if self._cache is not None else None
        work = _Work(a, batch.until, keys, timeout, service, errors, np.zeros(n, dtype=np.int8), a.copy())
        if n and not self._free:
            work.outcome[:] = REJECTED
        return work

    def _joins(self, work: _Work) -> bool:
        """Whether the block solver may serve this batch (it has no cache, rejection or
        timeout logic: `_adopt` checks afterwards that none was needed)."""
        return bool(work.a.size) and 1 <= len(self._free) <= MAX_WORKERS and not work.uses_cache

    def _adopt(self, work: _Work, starts: np.ndarray, free: list[float]) -> bool:
        """Take the block solver's start times unless some request would have been
        rejected (queue full) or timed out; then the loop serves the batch instead."""
        a = work.a
        waited = np.flatnonzero(starts > a)
        if waited.size:
            ws, wa = starts[waited], a[waited]
            if np.any(ws - wa > work.timeout):
                return False
            queued = np.fromiter(self._queued, dtype=float, count=len(self._queued))
            ahead = (queued.size - np.searchsorted(queued, wa, side="right")) + (
                waited - np.searchsorted(starts, wa, side="right")
            )
            if np.any(ahead >= self.queue_capacity):
                return False
            still = ws[ws > work.until]
            self._queued = deque(queued[queued > work.until].tolist() + still.tolist())
        else:
            self._queued = deque(v for v in self._queued if v > work.until)
        work.started = starts
        self._free = free  # ascending, so already a heap
        return True

    def _serve_alone(self, work: _Work) -> None:
        """The per-request path (see `_schedule`)."""
        if work.a.size and self._free:
            self._schedule(work.a, work.service, work.keys, work.timeout, work.outcome, work.started)

    def _finish(self, work: _Work) -> BatchResult:
        """Outcomes to answers; count what falls due by the batch's end."""
        a, outcome, started, service = work.a, work.outcome, work.started, work.service
        if work.errors is not None:
            outcome[(outcome == OK) & work.errors] = ERROR
        if not outcome.any():  # every request inferred by a worker: the common case
            answered = started + service
            self._account(answered, outcome, service * 1000.0, answered, work.until)
            return BatchResult(a, outcome, started, answered)
        if outcome.max() <= CACHE_HIT:  # every request inferred, some from the cache: the
            hit = outcome == CACHE_HIT  # general case below with nothing rejected or late
            service_ms = np.where(hit, 0.0, service * 1000.0)
            answered = started + np.where(hit, 0.0, service)
            self._account(answered, outcome, service_ms, answered, work.until)
            return BatchResult(a, outcome, started, answered)
        served = outcome <= ERROR
        service_ms = np.where(outcome == CACHE_HIT, 0.0, service * 1000.0)
        finished = started + np.where(outcome == CACHE_HIT, 0.0, service)
        answered = np.where(served, finished, a)
        answered[outcome == TIMEOUT] += work.timeout
        started[outcome == REJECTED] = math.nan
        leaves = np.where(served, finished, np.where(outcome == TIMEOUT, started, a))
        self._account(answered, outcome, np.where(served, service_ms, 0.0), leaves, work.until)
        return BatchResult(a, outcome, started, answered)

    def advance(self, until: float) -> None:
        """Move to `until` with no arrivals (answers fall due, windows roll)."""
        if until < self._now:
            raise ValueError(f"[until] {until} is before the route's clock {self._now}")
        if not (self._due_time.size or self._leaves.size or self._minutes):  # idle: nothing falls due or rolls
            self._now = until
            return
        self._account(_NO_TIMES, _NO_OUTCOMES, _NO_TIMES, _NO_TIMES, until)

    def pending(self) -> int:
        """Requests accepted and not yet gone at `now` (the stats' pending requests, alone)."""
        leaves = self._leaves
        if not leaves.size:
            return 0
        return int(np.count_nonzero(leaves > self._now))

    def stats(self) -> RouteStats:
        """Counters as of `now`."""
        k = self._counts
        done = int((self._now - self.start_time) // MINUTE_SECONDS)  # = _minute_index, without numpy
        last = self._minutes.get(done - 1, [0, 0.0, 0])
        return RouteStats(
            inference_count=int(k[OK] + k[CACHE_HIT]),
            inference_cache_hit_count=int(k[CACHE_HIT]),
            error_count=int(k[ERROR]),
            rejected_execution_count=int(k[REJECTED]),
            timeout_count=int(k[TIMEOUT]),
            inference_time_ms_sum=self._ms_sum,
            inference_time_ms_sum_excluding_cache_hits=self._ms_sum_misses,
            last_access=self._last_access,
            number_of_pending_requests=self.pending(),
            peak_throughput_per_minute=self._peak,
            throughput_last_minute=int(last[0]),
            average_inference_time_ms_last_minute=last[1] / last[0] if last[0] else None,
            inference_cache_hit_count_last_minute=int(last[2]),
        )

    # -- scheduling ----------------------------------------------------------------

    def _check_batch(self, a: np.ndarray, until: float, keys: Sequence | None) -> None:
        if until < self._now:
            raise ValueError(f"[until] {until} is before the route's clock {self._now}")
        if a.ndim != 1:
            raise ValueError("arrivals must be a one-dimensional array")
        if a.size and (a[0] < self._now or a[-1] >= until or (a[1:] < a[:-1]).any()):
            raise ValueError("arrivals must be sorted and within [now, until)")
        if keys is not None and len(keys) != a.size:
            raise ValueError("[keys] must have one entry per arrival")

    def _schedule(self, a, service, keys, timeout, outcome, started) -> None:
        """Fill `outcome` and `started`, alternating the numpy and the loop paths.

        The loop hands back after a run of `_streak` requests that found a free worker;
        the streak needed doubles whenever numpy then gets less done than its overhead
        is worth, so a congested route stays in the loop, and resets once numpy pays.
        """
        use_cache = self._cache is not None and keys is not None
        al, sl = a.tolist(), service.tolist()
        kl = list(keys) if use_cache else None
        marks = _Marks()
        i, n = 0, a.size
        if n <= _LOOP_ONLY:
            i = self._loop(al, sl, kl, i, timeout, marks, math.inf)
        while i < n:
            if not use_cache:
                chunk, before = 8 * self._streak, i
                while i < n:
                    k, whole = self._no_wait_prefix(a, service, i, chunk)
                    i += k
                    if not whole:
                        break
                    chunk = min(2 * chunk, _MAX_CHUNK)
                if i >= n:
                    break
                progress = i - before
                if progress < _MIN_STREAK:
                    self._streak = min(2 * self._streak, _MAX_STREAK)
                elif progress > 4 * self._streak:
                    self._streak = _MIN_STREAK
            i = self._loop(al, sl, kl, i, timeout, marks)
        if marks.waited:
            started[marks.waited] = marks.waited_start
        if marks.rejected:
            outcome[marks.rejected] = REJECTED
        if marks.timed_out:
            outcome[marks.timed_out] = TIMEOUT
        if marks.hits:
            outcome[marks.hits] = CACHE_HIT

    def _no_wait_prefix(self, a: np.ndarray, s: np.ndarray, lo: int, chunk: int) -> tuple[int, bool]:
        """How many of the next `chunk` arrivals from `lo` find a free worker, given that
        all before did (exact), and whether that was all of them.

        If every request starts on arrival, request i finds busy the workers still busy
        from before plus the earlier requests of this stretch with f_j = a_j + s_j > a_i.
        The first i that would find all workers busy ends the stretch; the worker free
        times after it are the largest `allocations` of the old ones and the new f_j
        (any smaller value lies before the next arrival, so it only means "free").
        """
        c = len(self._free)
        aa, ss = a[lo : lo + chunk], s[lo : lo + chunk]
        f = aa + ss
        busy = c - np.searchsorted(np.sort(self._free), aa, side="right")
        positive = ss > 0
        fp = np.sort(f[positive])
        busy += fp.size - np.searchsorted(fp, aa, side="right")
        busy -= np.cumsum(positive[::-1])[::-1]
        blocked = np.flatnonzero(busy >= c)
        k = int(blocked[0]) if blocked.size else aa.size
        if k:
            merged = np.concatenate((self._free, f[:k]))
            free = np.partition(merged, merged.size - c)[merged.size - c :].tolist()
            heapq.heapify(free)
            self._free = free
        return k, not blocked.size

    def _loop(self, al, sl, kl, i, timeout, marks: "_Marks", exit_streak: float | None = None) -> int:
        """The FIFO recurrence one request at a time, from `i` until a long enough run of
        requests found a free worker (then numpy takes over) or the batch ends; returns
        where it stopped and records what differs from "started on arrival, OK"
        (`exit_streak`, if given, replaces the run that hands back to numpy)."""
        free, queued, cache = self._free, self._queued, self._cache
        cap, capacity = self._cache_entries, self.queue_capacity
        replace, enqueue, dequeue = heapq.heapreplace, queued.append, queued.popleft
        waited, waited_start = marks.waited.append, marks.waited_start.append
        rejected, timed_out, hit = marks.rejected.append, marks.timed_out.append, marks.hits.append
        caching = kl is not None
        if exit_streak is None:
            exit_streak = math.inf if caching else self._streak
        keys = islice(kl, i, None) if caching else repeat(None)
        streak = 0
        for j, x, y, key in zip(count(i), islice(al, i, None), islice(sl, i, None), keys):
            start = free[0]
            if start > x:
                streak = 0
                while queued and queued[0] <= x:
                    dequeue()
                if len(queued) >= capacity:
                    rejected(j)
                    continue
                enqueue(start)
                waited(j)
                waited_start(start)
                if start - x > timeout:
                    timed_out(j)
                    continue
            else:
                start = x
                streak += 1
            if caching:
                if key in cache:
                    cache.move_to_end(key)
                    hit(j)
                    continue
                cache[key] = None
                if len(cache) > cap:
                    cache.popitem(last=False)
            replace(free, start + y)
            if streak >= exit_streak:
                return j + 1
        return len(al)

    # -- accounting ----------------------------------------------------------------

    def _account(self, answered, outcome, service_ms, leaves, until: float) -> None:
        """Count the answers due by `until`; keep the rest for later batches."""
        t, o, ms = answered, outcome, service_ms
        if not t.size:
            if not self._due_time.size:  # nothing answered, nothing pending: only time moves
                if self._leaves.size:
                    self._leaves = self._leaves[self._leaves > until]
                self._now = until
                self._roll_minutes()
                return
            t, o, ms = self._due_time, self._due_outcome, self._due_ms
        elif self._due_time.size:
            t = np.concatenate((self._due_time, t))
            o = np.concatenate((self._due_outcome, o))
            ms = np.concatenate((self._due_ms, ms))
        t_max = float(t.max())
        all_due = t_max <= until
        if all_due:  # the common case: every answer falls in this window
            self._due_time, self._due_outcome, self._due_ms = _NO_TIMES, _NO_OUTCOMES, _NO_TIMES
        else:
            due = t <= until
            later = ~due
            self._due_time, self._due_outcome, self._due_ms = t[later], o[later], ms[later]
            t, o, ms = t[due], o[due], ms[due]
            t_max = float(t.max()) if t.size else -math.inf
        if o.any():
            self._counts += np.bincount(o, minlength=_OUTCOME_COUNT)
            if o.max() <= CACHE_HIT:  # every answer an inference, some from the cache: the
                total = float(ms.sum())  # steps below with nothing to leave out
                self._ms_sum += total
                self._ms_sum_misses += float(ms[o == OK].sum())
                self._last_access = max(self._last_access or -math.inf, t_max)
                self._add_minutes(t, ms, o == CACHE_HIT, total, t_max)
            else:
                inferred = o <= CACHE_HIT
                self._ms_sum += float(ms[inferred].sum())
                self._ms_sum_misses += float(ms[o == OK].sum())
                if np.any(o <= ERROR):
                    self._last_access = max(self._last_access or -math.inf, float(t[o <= ERROR].max()))
                self._add_minutes(t[inferred], ms[inferred], o[inferred] == CACHE_HIT)
        elif t.size:  # every answer a plain inference: the common case, in fewer steps
            self._counts[OK] += t.size
            total = float(ms.sum())
            self._ms_sum += total
            self._ms_sum_misses += total
            self._last_access = max(self._last_access or -math.inf, t_max)
            self._add_minutes(t, ms, None, total, t_max)
        if all_due and leaves is answered:  # every request of the batch has left by `until`
            self._leaves = self._leaves[self._leaves > until] if self._leaves.size else self._leaves
            self._now = until
            self._roll_minutes()
            return
        all_leaves = np.concatenate((self._leaves, leaves)) if self._leaves.size and leaves.size else (
            leaves if leaves.size else self._leaves
        )
        self._leaves = all_leaves[all_leaves > until]
        self._now = until
        self._roll_minutes()

    def _minute_index(self, t: float | np.ndarray):
        return np.floor_divide(np.subtract(t, self.start_time), MINUTE_SECONDS).astype(np.int64)

    def _add_minutes(
        self, t: np.ndarray, ms: np.ndarray, hits: np.ndarray | None, total: float | None = None, t_max: float | None = None
    ) -> None:
        """Add answers (times, service ms, which were cache hits; `total` = ms.sum() and
        `t_max` = t.max() if known) to their minutes' [count, ms sum, hit count]."""
        if not t.size:
            return
        first = int((float(t.min()) - self.start_time) // MINUTE_SECONDS)  # = _minute_index, without numpy
        last = int(((float(t.max()) if t_max is None else t_max) - self.start_time) // MINUTE_SECONDS)
        if first == last:  # one minute: no need to bin
            bucket = self._minutes.setdefault(first, [0, 0.0, 0])
            bucket[0] += t.size
            bucket[1] += float(ms.sum()) if total is None else total
            bucket[2] += 0 if hits is None else int(np.count_nonzero(hits))
            return
        offset = self._minute_index(t) - first
        counts = np.bincount(offset)
        sums = np.bincount(offset, weights=ms)
        hit_counts = np.bincount(offset, weights=hits) if hits is not None else np.zeros(counts.size)
        for j in np.flatnonzero(counts):
            bucket = self._minutes.setdefault(first + int(j), [0, 0.0, 0])
            bucket[0] += int(counts[j])
            bucket[1] += float(sums[j])
            bucket[2] += int(hit_counts[j])

    def _roll_minutes(self) -> None:
        """Fold finished minutes into the peak; keep only the current and the last one."""
        current = int((self._now - self.start_time) // MINUTE_SECONDS)  # = _minute_index, without numpy
        for minute in [m for m in self._minutes if m < current]:
            self._peak = max(self._peak, int(self._minutes[minute][0]))
            if minute < current - 1:
                del self._minutes[minute]


def run_together(batches: Sequence[Batch]) -> list[BatchResult]:
    """Serve one batch on each of several distinct queues, as `InferenceQueue.run` would
    one by one (same draws, same results), solving the queues with few workers together."""
    queues = [b.queue for b in batches]
    if len(set(map(id, queues))) != len(queues):
        raise ValueError("each queue may appear once in a run_together call")
    works = [b.queue._begin(b) for b in batches]
    joint = [i for i, (q, w) in enumerate(zip(queues, works)) if q._joins(w)]
    if sum(works[i].a.size for i in joint) < JOINT_MIN_REQUESTS:
        joint = []
    if joint:
        starts, free = fifo_starts(
            [works[i].a for i in joint], [works[i].service for i in joint], [queues[i]._free for i in joint]
        )
        joint = [i for i, s, f in zip(joint, starts, free) if queues[i]._adopt(works[i], s, f)]
    solved = set(joint)
    for i, (q, w) in enumerate(zip(queues, works)):
        if i not in solved:
            q._serve_alone(w)
    return [q._finish(w) for q, w in zip(queues, works)]
