"""What is left of each node and deployment while a plan is built.

The one place that charges memory and cores, so every pass of every mode agrees on what
fits: a node already running a deployment pays only the increase of the estimate.
"""

from __future__ import annotations

import numpy as np

from .arrays import Arrays


class Ledger:
    """Remaining memory, cores and wanted allocations, plus the allocations placed so far.

    `held[d, n]` are allocations whose memory was already reserved before this plan (the
    preserved ones of Elasticsearch's preserve passes): adding to them costs the increase.
    """

    def __init__(self, p: Arrays, held: np.ndarray | None = None) -> None:
        self.p = p
        self.alloc = np.zeros(p.shape, dtype=np.int64)
        self.held = held
        self.mem = p.mem.copy()
        self.cores = p.cores.copy()
        self.remaining = p.allocations.copy()

    def memory_needed(self, row: int, extra: np.ndarray) -> np.ndarray:
        """Memory for `extra[n]` more allocations of `row` on every node n."""
        before = self.alloc[row] if self.held is None else self.alloc[row] + self.held[row]
        grown = self.p.estimate(row, before + extra)
        return np.where(before > 0, grown - self.p.estimate(row, before), grown)

    def memory_needed_one(self, row: int, col: int, extra: int) -> int:
        before = int(self.alloc[row, col]) + (0 if self.held is None else int(self.held[row, col]))
        return self.p.estimate_one(row, before + extra) - self.p.estimate_one(row, before)

    def fits(self, row: int, col: int, count: int, memory: int) -> bool:
        return memory <= self.mem[col] and count * int(self.p.threads[row]) <= self.cores[col]

    def assign(self, row: int, col: int, count: int, memory: int) -> None:
        self.alloc[row, col] += count
        self.mem[col] -= memory
        self.cores[col] -= count * int(self.p.threads[row])
        self.remaining[row] -= count
