"""Elasticsearch's `RandomizedAssignmentRounding`: from the relaxed LP's allocations `x`
(and assignments `y = x·threads/cores`) to whole allocations.

Pairs the LP already decided (y = 1, x whole) are kept; every node whose fractional pairs
would all fit at their rounded-up counts gets them; then, 20 times from that start, the
remaining fractional pairs are visited (closest to 0 or 1 first) and rounded up or down at
random (`java.util.Random`, the solver's instance, so the draws continue its stream), each
kept with probability y if memory and cores still allow. Each round is completed greedily
and the best plan by ES's quality order wins.

Memory here is one allocation's estimate, charged once per (deployment, node) that is new,
as ES's tracker does; the final builder charges the real estimate. (Older ES versions used
the model size here; the recorded low-priority plans, which land on the tightest memory
fit of the estimate, show the estimate.)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterator

import numpy as np

from .arrays import nonzero_pairs
from .es_model import Builder, Problem
from .java_random import JavaRandom

ROUNDS = 20
EPS = 1e-6


def greedy_plan(p: Problem) -> Builder:
    """The rounding's first plan: the greedy fill alone, as from an LP answer of zeros."""
    return _Holder(p).to_plan()


def round_solution(p: Problem, x: np.ndarray, random: JavaRandom, start: Builder) -> Builder:
    """The best plan by quality among `start` (`greedy_plan(p)`) and the rounded ones."""
    best = start
    best_quality = best.quality()
    holder = _Holder(p)
    holder.initialize(x)
    holder.assign_under_subscribed(range(p.shape[1]), sort=True)
    for plan in _rounded(holder, random):
        quality = plan.quality()
        if quality > best_quality:  # ties keep the earlier plan
            best, best_quality = plan, quality
    return best


def _rounded(holder: "_Holder", random: JavaRandom) -> Iterator[Builder]:
    """The rounding's candidate plans from `holder`'s start: one per randomized round, or
    the start itself when no pair is left fractional."""
    queue = holder.soft_queue()
    if not queue:
        yield holder.to_plan()
        return
    for _ in range(ROUNDS):
        trial = holder.copy()
        trial.randomized_rounding(queue, random)
        yield trial.to_plan()


@lru_cache(maxsize=1024)  # the 48 recorded plans use ~300
def _fill_table(not_host: int, wanted: int, max_cores: int) -> np.ndarray:
    """`_Holder._fill_order`'s key without the memory term for free cores 0..max_cores
    (cached across plans; read-only)."""
    c = np.arange(max_cores + 1)
    table = (not_host + np.where(c <= wanted, 0.0, 0.5)) + 0.01 * np.abs(c - wanted)
    table.flags.writeable = False
    return table


def _is_integer(v: np.ndarray) -> np.ndarray:
    return np.isfinite(v) & (np.abs(v - np.rint(v)) < EPS)


def _java_div(a: int, b: int) -> int:
    return a // b if a >= 0 else -((-a) // b)


class _Tracker:
    """Resources left while rounding: memory is charged once per new (deployment, node)."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.assigned = p.hosts.copy()
        self.rem_mem = p.mem.copy()
        self.rem_cores = p.cores.copy()
        self.rem_alloc = p.allocations.copy()
        self.changes = 0  # assignments so far: what is left per deployment changes only with one

    def copy(self) -> "_Tracker":
        c = object.__new__(_Tracker)
        c.p, c.changes = self.p, self.changes
        c.assigned, c.rem_mem, c.rem_cores, c.rem_alloc = (
            self.assigned.copy(), self.rem_mem.copy(), self.rem_cores.copy(), self.rem_alloc.copy()
        )
        return c

    def assign_many(self, allocations: np.ndarray) -> None:
        """`assign` for every pair with allocations > 0 (the order does not matter)."""
        self.changes += 1
        placed = allocations > 0
        if not placed.any():  # the greedy first plan's start: nothing to take off
            return
        counts = np.where(placed, allocations, 0)
        new = placed & ~self.assigned
        self.assigned |= placed
        self.rem_mem -= (new * self.p.one_allocation[:, None]).sum(axis=0)
        self.rem_cores -= (counts * self.p.threads[:, None]).sum(axis=0)
        self.rem_alloc -= counts.sum(axis=1)

    def assign(self, i: int, j: int, allocations: int) -> None:
        self.changes += 1
        if not self.assigned[i, j]:
            self.assigned[i, j] = True
            self.rem_mem[j] -= self.p.one_allocation[i]
        self.rem_cores[j] -= allocations * int(self.p.threads[i])
        self.rem_alloc[i] -= allocations


class _Holder:
    def __init__(self, p: Problem) -> None:
        self.p = p
        self.y = np.zeros(p.shape)
        self.x = np.zeros(p.shape)
        self.tracker = _Tracker(p)
        self.zeroed = np.zeros(p.shape[0], dtype=bool)  # satisfied rows already cleared
        self.zeroed_at = -1  # the tracker's `changes` when they were last looked for
        # (current map empty ? 1 : 2) * -memory: bigger models first, current ones doubled
        self.model_order = np.where(p.has_current, 2, 1) * -p.one_allocation
        self.max_cores = max(int(p.cores.max(initial=0)), 0)

    def copy(self) -> "_Holder":
        c = object.__new__(_Holder)
        c.p, c.model_order, c.max_cores = self.p, self.model_order, self.max_cores
        c.y, c.x, c.zeroed, c.zeroed_at = self.y.copy(), self.x.copy(), self.zeroed.copy(), self.zeroed_at
        c.tracker = self.tracker.copy()
        return c

    def initialize(self, x: np.ndarray) -> None:
        p = self.p
        with np.errstate(divide="ignore", invalid="ignore"):
            y = x * p.threads[:, None] / p.cores[None, :]
        self.y = np.where(p.cores[None, :] > 0, y, 0.0)
        self.x = x.copy()
        decided = (self.y == 1.0) & _is_integer(x)
        for i, j in zip(*nonzero_pairs(decided)):
            self.tracker.assign(int(i), int(j), int(np.rint(x[i, j])))

    def _soft(self, rows: np.ndarray | slice, j: int | list[int]) -> np.ndarray:
        y, x = self.y[rows, j], self.x[rows, j]
        return ((y > 0) & (y < 1)) | ~_is_integer(x)

    def is_soft(self, i: int, j: int) -> bool:
        y, x = self.y[i, j], self.x[i, j]
        return (0 < y < 1) or not (math.isfinite(x) and abs(x - round(x)) < EPS)

    def soft_queue(self) -> list[tuple[int, int]]:
        soft = ((self.y > 0) & (self.y < 1)) | ~_is_integer(self.x)
        rows, cols = nonzero_pairs(soft)
        y = self.y[rows, cols]
        closeness = np.minimum(y, 1 - y)
        most_threads = -self.x[rows, cols] * self.p.threads[rows]
        order = np.lexsort((most_threads, closeness))  # stable: ties stay in row-major order
        return list(zip(rows[order].tolist(), cols[order].tolist()))

    def assign_to_node(self, i: int, j: int, allocations: int) -> None:
        count = min(allocations, int(self.tracker.rem_alloc[i]))
        self.y[i, j] = 1.0
        self.x[i, j] = float(count)
        self.tracker.assign(i, j, count)

    def unassign(self, i: int, j: int) -> None:
        self.y[i, j] = 0.0
        self.x[i, j] = 0.0

    def assign_under_subscribed(self, cols, sort: bool = False) -> None:
        """Snap a node's fractional pairs to 1 where all of them fit at their rounded-up counts."""
        p = self.p
        cols = list(cols)
        if sort:
            gain = np.where(self.x > 0, (1 + p.hosts.astype(np.int64)) * self.x * p.threads[:, None], 0.0)
            quality = np.cumsum(gain, axis=0)[-1] if gain.shape[0] else np.zeros(len(cols))
            cols = sorted(cols, key=lambda j: quality[j])
        if len(cols) > 1:
            # Visiting a node assigns only on that node and zeroes fractional pairs, so a
            # column without positive pairs stays so, and one without fractional pairs too.
            placed_in = (self.y[:, cols] > 0).any(axis=0).tolist()
            soft_in = self._soft(slice(None), cols).any(axis=0).tolist()
        else:  # one node (a rounding step): looked at below
            placed_in = soft_in = [True] * len(cols)
        mem, cores = p.mem_of, p.cores_of
        for j, any_placed, any_soft in zip(cols, placed_in, soft_in):
            if not any_placed:  # nothing to check or snap: only the spare cores
                if 0 <= mem[j] and 0 <= cores[j]:
                    self.assign_excess_cores(j, empty=True, soft=any_soft)
                continue
            placed = np.flatnonzero(self.y[:, j] > 0)
            if placed.size == 0:
                if 0 <= mem[j] and 0 <= cores[j]:
                    self.assign_excess_cores(j)
                continue
            memory = int(p.one_allocation[placed].sum())
            threads = int((np.ceil(self.x[placed, j]).astype(np.int64) * p.threads[placed]).sum())
            if memory <= mem[j] and threads <= cores[j]:
                for i in placed.tolist():
                    if 0 < self.y[i, j] < 1:
                        v = self.x[i, j]
                        count = int(round(v)) if abs(v - round(v)) < EPS else math.ceil(v)
                        self.assign_to_node(i, j, count)
                self.assign_excess_cores(j)

    def assign_excess_cores(self, j: int, empty: bool = False, soft: bool = True) -> None:
        """A node without fractional pairs gives its spare cores to its decided deployments.
        `empty`: the node has no positive pair, so none is decided; `soft` False: it was seen
        to have no fractional pair (and cannot gain one)."""
        t = self.tracker
        if t.rem_cores[j] == 0 or (soft and self._soft(slice(None), j).any()):
            return
        if not empty:
            rows = np.flatnonzero((self.y[:, j] == 1) & (t.rem_alloc > 0))
            for i in rows[np.argsort(self.model_order[rows], kind="stable")].tolist():
                if t.rem_cores[j] <= 0:
                    break
                extra = min(_java_div(int(t.rem_cores[j]), int(self.p.threads[i])), int(t.rem_alloc[i]))
                self.x[i, j] += extra
                t.assign(i, j, extra)
        self._zero_soft_of_satisfied()

    def _zero_soft_of_satisfied(self) -> None:
        # Pairs only ever stop being fractional, so a satisfied row cleared once stays clear;
        # and no row can become satisfied without an assignment since the last look.
        if self.zeroed_at == self.tracker.changes:
            return
        self.zeroed_at = self.tracker.changes
        rows = np.flatnonzero((self.tracker.rem_alloc <= 0) & ~self.zeroed)
        if rows.size:
            y, x = self.y[rows], self.x[rows]
            soft = ((y > 0) & (y < 1)) | ~_is_integer(x)
            y[soft] = 0.0
            x[soft] = 0.0
            self.y[rows], self.x[rows] = y, x
            self.zeroed[rows] = True

    def unassign_oversized(self, j: int) -> None:
        gone = np.flatnonzero((self.y[:, j] < 1.0) & (self.p.one_allocation > self.tracker.rem_mem[j]))
        self.y[gone, j] = 0.0
        self.x[gone, j] = 0.0

    def randomized_rounding(self, queue: list[tuple[int, int]], random: JavaRandom) -> None:
        p, t = self.p, self.tracker
        for i, j in queue:
            if not self.is_soft(i, j):
                continue
            v = self.x[i, j]
            rounded = math.ceil(v) if random.next_double() < v - math.floor(v) else math.floor(v)
            threads = int(p.threads[i])
            if (
                p.one_allocation[i] > t.rem_mem[j]
                or threads > t.rem_cores[j]
                or rounded == 0
                or random.next_double() > self.y[i, j]
            ):
                self.unassign(i, j)
                self.assign_under_subscribed([j])
            else:
                rounded = min(rounded, _java_div(int(t.rem_cores[j]), threads))
                self.assign_to_node(i, j, rounded)
                self.unassign_oversized(j)
                self.assign_excess_cores(j)

    def _fill_order(self, i: int, wanted: int, t: _Tracker, fits: np.ndarray) -> np.ndarray:
        """All nodes in the order `to_plan` tries them for deployment `i`, the ones in
        `fits` first: ascending `((not in the current map) + (0 if free cores <= wanted else
        0.5)) + 0.01·|free cores − wanted| + 0.01·free memory`, ties in node order.

        All but the memory term depend on the node only through its free cores, so they
        come from a table over core counts (the same float expression, so the same keys)."""
        key = _fill_table(1, wanted, self.max_cores).take(t.rem_cores, mode="clip") + 0.01 * t.rem_mem
        hosts = self.p.host_columns(i)
        if hosts:
            host_table = _fill_table(0, wanted, self.max_cores)
            for j in hosts:
                key[j] = host_table[max(int(t.rem_cores[j]), 0)] + 0.01 * t.rem_mem[j]
        np.putmask(key, ~fits, np.inf)
        return np.argsort(key, kind="stable")

    def to_plan(self) -> Builder:
        """Whole allocations (x rounded down), then what is still wanted greedily: bigger
        models first, each on nodes it fits and has nothing on, ES's node order."""
        p = self.p
        result = np.floor(self.x).astype(np.int64)
        t = _Tracker(p)
        t.assign_many(result)
        wanting = np.flatnonzero(t.rem_alloc > 0)
        for i in wanting[np.argsort(self.model_order[wanting], kind="stable")].tolist():
            threads = p.threads_of[i]
            fits = (t.rem_mem >= p.one_allocation_of[i]) & (t.rem_cores >= threads) & (result[i] == 0)
            n_fits = int(np.count_nonzero(fits))
            if n_fits == 0:
                continue
            wanted = int(t.rem_alloc[i]) * threads
            for j in self._fill_order(i, wanted, t, fits)[:n_fits].tolist():
                count = min(_java_div(int(t.rem_cores[j]), threads), int(t.rem_alloc[i]))
                t.assign(i, j, count)
                result[i, j] = count
                if t.rem_alloc[i] == 0:
                    break
        plan = Builder(p)
        rows, cols = nonzero_pairs(result > 0)
        plan.assign_entries(rows, cols, result[rows, cols])
        return plan
