"""Simulated time and the three ways of moving it (experiment, virtual, realtime).

Awaiting a simulated condition never blocks the asyncio loop: in the virtual and experiment
modes the waiter steps the simulation itself until the condition holds or its timeout
passes (so it answers at once, deterministically); in realtime a background task advances
the simulation with the wall clock and resolves waiting futures between slices.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

import simpy

ClockMode = Literal["experiment", "virtual", "realtime"]
CLOCK_MODES: tuple[ClockMode, ...] = ("experiment", "virtual", "realtime")

#: Simulated time zero shown to users (milliseconds since the Unix epoch).
DEFAULT_EPOCH_MS = 1_700_000_000_000
#: Steps the realtime driver takes before yielding to the event loop.
REALTIME_SLICE_STEPS = 2_000
#: Longest the realtime driver sleeps between slices (wall seconds).
REALTIME_MAX_SLEEP = 0.01
#: Wall seconds a request's advance or wait steps the simulation before letting other
#: requests run (checked every `REQUEST_CHECK_STEPS` events).
REQUEST_SLICE_SECONDS = 0.001
REQUEST_CHECK_STEPS = 50
#: Longest advance one request may ask for (a year), and the fastest realtime clock.
MAX_ADVANCE_SECONDS = 365 * 86_400
MAX_SPEED = 100_000.0

Predicate = Callable[[], bool]


@dataclass(slots=True)
class _Waiter:
    predicate: Predicate
    deadline: float
    future: asyncio.Future


class SimClock:
    """Owns the simpy environment's notion of now and how it advances."""

    def __init__(
        self,
        env: simpy.Environment,
        mode: ClockMode = "virtual",
        speed: float = 1.0,
        epoch_ms: int = DEFAULT_EPOCH_MS,
    ) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(f"unknown clock mode [{mode}]; expected one of {list(CLOCK_MODES)}")
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"[speed] must be positive and at most [{MAX_SPEED:g}], got [{speed}]")
        self.env = env
        self.mode: ClockMode = mode
        self.speed = speed
        self.epoch_ms = epoch_ms
        self._waiters: list[_Waiter] = []
        self._wall_anchor: float | None = None
        self._sim_anchor = 0.0

    @property
    def now(self) -> float:
        return self.env.now

    def millis(self, sim_seconds: float | None = None) -> int:
        """Epoch milliseconds of a simulated instant (default: now)."""
        t = self.env.now if sim_seconds is None else sim_seconds
        return self.epoch_ms + int(round(t * 1000))

    def iso(self, sim_seconds: float | None = None) -> str:
        """ISO-8601 UTC timestamp with microseconds, as Elasticsearch prints instants."""
        t = self.env.now if sim_seconds is None else sim_seconds
        micros = self.epoch_ms * 1000 + int(round(t * 1_000_000))
        moment = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc).replace(
            microsecond=micros % 1_000_000
        )
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- moving time by request -------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Process every event up to and including now + `seconds`, then stand there."""
        if seconds < 0 or math.isnan(seconds):
            raise ValueError("[seconds] must not be negative")
        self._run_through(self.env.now + seconds)
        if self._wall_anchor is not None:
            self._sim_anchor += seconds

    async def advance_in_slices(self, seconds: float) -> None:
        """`advance` for a request: the same events, run a slice at a time with the loop
        free between slices, so other requests are answered while a long advance runs."""
        await self._step_in_slices(lambda: False, self.env.now + seconds)
        if self._wall_anchor is not None:
            self._sim_anchor += seconds

    def run_until(self, predicate: Predicate, timeout: float = math.inf) -> bool:
        """Step events until `predicate()` holds or `timeout` simulated seconds pass.

        Returns whether the predicate held. With no events left before the deadline the
        clock jumps to the deadline (or stays, for an infinite timeout) and answers.
        """
        if self.mode == "realtime":
            raise RuntimeError("run_until steps the simulation itself; in realtime use wait_until")
        return bool(self._step_until(predicate, self.env.now + timeout, math.inf))

    async def wait_until(self, predicate: Predicate, timeout: float = math.inf) -> bool:
        """Await a simulated condition without blocking the loop; True if it held in time.
        In the virtual modes the waiter steps the simulation itself, a slice at a time."""
        if self.mode != "realtime":
            return await self._step_in_slices(predicate, self.env.now + timeout)
        if predicate():
            return True
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(predicate, self.env.now + timeout, future))
        return await future

    # -- realtime driving -----------------------------------------------------------

    async def drive_realtime(self) -> None:
        """Advance simulated time with the wall clock × speed until cancelled."""
        self._wall_anchor = time.monotonic()
        self._sim_anchor = self.env.now
        while True:
            target = self._sim_anchor + (time.monotonic() - self._wall_anchor) * self.speed
            steps = 0
            while self.env.peek() <= target and steps < REALTIME_SLICE_STEPS:
                self.env.step()
                steps += 1
            if steps < REALTIME_SLICE_STEPS and target > self.env.now:
                self.env.run(until=target)
            self._resolve_waiters()
            if steps >= REALTIME_SLICE_STEPS:
                await asyncio.sleep(0)
                continue
            gap = (self.env.peek() - self.env.now) / self.speed
            await asyncio.sleep(min(max(gap, 0.0), REALTIME_MAX_SLEEP))

    # -- internals ------------------------------------------------------------------

    async def _step_in_slices(self, predicate: Predicate, deadline: float) -> bool:
        """`_step_until` without a budget, yielding to the loop every few milliseconds."""
        while True:
            slice_end = time.perf_counter() + REQUEST_SLICE_SECONDS
            held = self._step_until(predicate, deadline, REQUEST_CHECK_STEPS)
            while held is None and time.perf_counter() < slice_end:
                held = self._step_until(predicate, deadline, REQUEST_CHECK_STEPS)
            if held is not None:
                return held
            await asyncio.sleep(0)

    def _step_until(self, predicate: Predicate, deadline: float, budget: float) -> bool | None:
        """Step at most `budget` events towards `predicate()` or `deadline` (reached by a
        jump when no event is left before it): whether the predicate held, or None when the
        budget ran out first."""
        steps = 0
        while not predicate():
            upcoming = self.env.peek()
            if upcoming > deadline or upcoming == math.inf:
                if math.isfinite(deadline):
                    self._run_through(deadline)
                return predicate()
            if steps >= budget:
                return None
            self.env.step()
            steps += 1
            self._resolve_waiters()
        return True

    def _run_through(self, t: float) -> None:
        if t > self.env.now:
            self.env.run(until=t)
        while self.env.peek() <= t:
            self.env.step()
        self._resolve_waiters()

    def _resolve_waiters(self) -> None:
        if not self._waiters:
            return
        pending = []
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            if waiter.predicate():
                waiter.future.set_result(True)
            elif self.env.now >= waiter.deadline:
                waiter.future.set_result(False)
            else:
                pending.append(waiter)
        self._waiters = pending
