"""Put moved current allocations back where they ran, whenever that costs no allocation.

A current allocation of deployment d on node n that a plan does not keep is restored when
the plan stays valid and places at least as many allocations after: d gets one more on n;
if d would then exceed its ask, one of its allocations comes off a node where the plan gave
it more than it runs there now (undoing a relocation); and allocations that are *new* on n
(above their deployment's current count there) make room by moving to other nodes where they
fit, or — only when the put-back allocation is an extra one for d — one of them is dropped.
Each restore keeps one more current allocation and places as many, so it improves the
optimal mode's objective. `fill_holes` uses the same moves of new allocations to merge free
cores scattered over nodes into room for more allocations.
"""

from __future__ import annotations

import numpy as np

from .arrays import Arrays, nonzero_pairs
from .greedy import cheapest_first

#: Nodes (most free cores first) on which `fill_holes` tries to make room for one allocation.
HOLE_CANDIDATES = 8
#: New allocations (most room on their node once dropped first) a restore tries to drop.
VICTIMS = 3


def restore_moves(p: Arrays, alloc: np.ndarray) -> np.ndarray:
    """`alloc` (a valid plan of `p`) with every restorable moved allocation put back."""
    if not (p.current > alloc).any():
        return alloc
    state = _Restorer(p, alloc)
    progress = True
    while progress:
        progress = False
        rows, cols = nonzero_pairs(p.current > state.alloc)
        state.new_pairs = nonzero_pairs(state.alloc > p.current)
        for row, col in zip(rows.tolist(), cols.tolist()):
            while state.alloc[row, col] < p.current[row, col] and state.restore(row, col):
                progress = True
    return state.alloc


def fill_holes(p: Arrays, alloc: np.ndarray) -> np.ndarray:
    """`alloc` with more allocations where free cores scattered over nodes can be merged:
    allocations that are new on a node move to other nodes' spare cores until one more
    allocation of a short deployment fits there (cheapest deployments first). No current
    allocation moves, so every success places one more at no cost in moves."""
    state = _Restorer(p, alloc)
    short = state.alloc.sum(axis=1) < p.allocations
    for row in [row for row in cheapest_first(p).tolist() if short[row]]:
        while state.alloc[row].sum() < p.allocations[row] and state.add_somewhere(row):
            pass
    return state.alloc


class _Restorer:
    """A plan with its free cores and memory, changed one allocation at a time with undo."""

    def __init__(self, p: Arrays, alloc: np.ndarray) -> None:
        self.p = p
        self.alloc = alloc.copy()
        self.free_mem = p.mem - p.memory_per_node(alloc)
        self.free_cores = p.cores - (alloc * p.threads[:, None]).sum(axis=0)
        self.journal: list[tuple[int, int, int]] = []
        #: (rows, cols) where the plan placed more than runs now, as of the current pass
        self.new_pairs = nonzero_pairs(self.alloc > p.current)

    def restore(self, row: int, col: int) -> bool:
        """Put one allocation of `row` back on `col` as the module docstring says; False (and
        nothing changed) when that is not possible."""
        p, alloc = self.p, self.alloc
        self.journal = []
        extra = 0
        donors = np.flatnonzero(alloc[row] > p.current[row])
        donors = donors[donors != col]
        if donors.size:
            self._change(row, int(donors[0]), -1)
        elif alloc[row].sum() < p.allocations[row]:
            extra = 1  # d gets an allocation more: one displaced allocation may be dropped
        else:
            return False
        if self._make_room(row, col, extra):
            self._change(row, col, +1)
            return True
        self._undo()
        return extra == 1 and self._restore_for_victim(row, col)

    def _restore_for_victim(self, row: int, col: int) -> bool:
        """Put back an allocation of short `row` on `col` by dropping a new allocation at least
        as expensive elsewhere (as many placed), whose room takes what must leave `col`."""
        p, alloc = self.p, self.alloc
        victims_r, victims_c = self.new_pairs
        mine = (victims_c != col) & (victims_r != row) & (p.threads[victims_r] >= p.threads[row])
        victims_r, victims_c = victims_r[mine], victims_c[mine]
        mine = alloc[victims_r, victims_c] > p.current[victims_r, victims_c]  # still new
        victims_r, victims_c = victims_r[mine], victims_c[mine]
        room = self.free_cores[victims_c] + p.threads[victims_r]
        for k in np.argsort(-room, kind="stable")[:VICTIMS].tolist():
            self.journal = []
            self._change(int(victims_r[k]), int(victims_c[k]), -1)
            if self._make_room(row, col, 0):
                self._change(row, col, +1)
                return True
            self._undo()
        return False

    def _make_room(self, row: int, col: int, drops: int) -> bool:
        """Move allocations that are new on `col` (other deployments') elsewhere, dropping at
        most `drops` of them, until one more of `row` fits on `col`."""
        p, alloc = self.p, self.alloc
        threads = int(p.threads[row])
        while not self._fits(row, col):
            guests = np.flatnonzero(alloc[:, col] > p.current[:, col])
            guests = guests[guests != row]
            if guests.size == 0:
                return False
            short = max(threads - int(self.free_cores[col]), 0)
            order = sorted(guests.tolist(), key=lambda e: _displace_key(int(p.threads[e]), short))
            if not any(self._move_elsewhere(e, col) for e in order):
                if drops == 0:
                    return False
                drops -= 1
                self._change(order[0], col, -1)
        return True

    def add_somewhere(self, row: int) -> bool:
        """One more allocation of `row` on the node with the most free cores where room can be
        made by moving new allocations elsewhere (none is dropped)."""
        p = self.p
        threads = int(p.threads[row])
        if int(self.free_cores.sum()) < threads:
            return False
        here = self.alloc[row]
        grows = p.estimate(row, here + 1) - p.estimate(row, here)
        cols = np.flatnonzero((grows <= self.free_mem) & (self.free_cores > 0))
        for col in cols[np.argsort(-self.free_cores[cols], kind="stable")][:HOLE_CANDIDATES].tolist():
            self.journal = []
            if self._make_room(row, col, 0):
                self._change(row, col, +1)
                return True
            self._undo()
        return False

    def _fits(self, row: int, col: int) -> bool:
        here = int(self.alloc[row, col])
        grows = self.p.estimate_one(row, here + 1) - self.p.estimate_one(row, here)
        return int(self.p.threads[row]) <= self.free_cores[col] and grows <= self.free_mem[col]

    def _move_elsewhere(self, row: int, col: int) -> bool:
        """Move one allocation of `row` from `col` to another node it fits on: a node it runs
        on first, then the fewest free cores (keeping big holes for big allocations)."""
        p, alloc = self.p, self.alloc
        here = alloc[row]
        grows = p.estimate(row, here + 1) - p.estimate(row, here)
        fits = (self.free_cores >= p.threads[row]) & (grows <= self.free_mem)
        fits[col] = False
        targets = np.flatnonzero(fits)
        if targets.size == 0:
            return False
        best = int(targets[np.lexsort((self.free_cores[targets], here[targets] == 0))[0]])
        self._change(row, col, -1)
        self._change(row, best, +1)
        return True

    def _change(self, row: int, col: int, delta: int) -> None:
        here = int(self.alloc[row, col])
        self.free_mem[col] -= self.p.estimate_one(row, here + delta) - self.p.estimate_one(row, here)
        self.free_cores[col] -= delta * int(self.p.threads[row])
        self.alloc[row, col] = here + delta
        self.journal.append((row, col, delta))

    def _undo(self) -> bool:
        for row, col, delta in reversed(self.journal):
            here = int(self.alloc[row, col])
            self.free_mem[col] -= self.p.estimate_one(row, here - delta) - self.p.estimate_one(row, here)
            self.free_cores[col] += delta * int(self.p.threads[row])
            self.alloc[row, col] = here - delta
        self.journal = []
        return False


def _displace_key(threads: int, short: int) -> tuple[bool, int]:
    """Displace first the smallest allocation that covers the missing cores, else the biggest."""
    return (threads < short, threads if threads >= short else -threads)
