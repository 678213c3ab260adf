"""The optimal mode's greedy plans: count-maximising fills that move little or nothing.

Counting allocations, a 1-thread allocation is worth as much as an 8-thread one, so
deployments are filled fewest threads first, then least memory per allocation (the order the
LP bound itself fills in). Each step puts as many allocations as fit on a node that already
runs the deployment, else on the node taking the most, else the tightest memory fit.
"""

from __future__ import annotations

import numpy as np

from .arrays import Arrays, nonzero_pairs
from .ledger import Ledger


def cheapest_first(p: Arrays) -> np.ndarray:
    """Rows in fill order: fewest threads, then least memory for one allocation."""
    one = p.estimate(slice(None), np.ones(len(p.dep_ids), dtype=np.int64))
    return np.lexsort((one, p.threads))


def keep_then_fill(p: Arrays) -> np.ndarray:
    """Keep every current allocation that fits where it runs, then fill cheapest first.
    Moves nothing, but current allocations of expensive deployments block cheaper ones."""
    ledger = Ledger(p)
    for row, col in zip(*nonzero_pairs(p.current)):
        _keep(ledger, int(row), int(col))
    for row in cheapest_first(p).tolist():
        _fill(ledger, row)
    return ledger.alloc


def fill_by_class(p: Arrays) -> np.ndarray:
    """Thread classes (deployments with the same threads per allocation) cheapest first; in
    each, first every current allocation that still fits where it runs, then the new ones:
    on capacity no later class's current allocations use, then evicting those, the class
    with the most threads first.

    A current allocation only gives way to cheaper new ones (which place more per core),
    never to new ones of its own class (which place as many, but move it): where the
    greedy plans place the same count, this one moves least.
    """
    ledger = Ledger(p)
    n_nodes = p.shape[1]
    rows, cols = nonzero_pairs(p.current)
    reserved: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for t in np.unique(p.threads).tolist():
        mine = p.threads[rows] == t
        cores, mem = np.zeros(n_nodes, dtype=np.int64), np.zeros(n_nodes, dtype=np.int64)
        np.add.at(cores, cols[mine], p.current[rows[mine], cols[mine]] * t)
        np.add.at(mem, cols[mine], p.estimate(rows[mine], p.current[rows[mine], cols[mine]]))
        reserved[t] = (cores, mem)
    order = cheapest_first(p)
    for t in sorted(reserved):
        del reserved[t]
        members = order[p.threads[order] == t].tolist()
        for row in members:
            for col in np.flatnonzero(p.current[row]).tolist():
                _keep(ledger, row, col)
        # reserve every later class, then all but the most expensive, ..., then none
        later = sorted(reserved)
        for k in range(len(later), -1, -1):
            cores = sum((reserved[c][0] for c in later[:k]), np.zeros(n_nodes, dtype=np.int64))
            mem = sum((reserved[c][1] for c in later[:k]), np.zeros(n_nodes, dtype=np.int64))
            for row in members:
                _fill(ledger, row, cores, mem)
    return ledger.alloc


def fill_around_current(p: Arrays) -> np.ndarray:
    """Cheapest first; each deployment first keeps its own current allocations, then fills
    capacity no later deployment currently uses, then, if still short, any capacity.

    More expensive deployments thus lose current allocations only where a cheaper one could
    not be placed otherwise: more allocations than `keep_then_fill`, few moves.
    """
    ledger = Ledger(p)
    rows, cols = nonzero_pairs(p.current)
    reserved_cores = np.zeros(p.shape[1], dtype=np.int64)
    reserved_mem = np.zeros(p.shape[1], dtype=np.int64)
    np.add.at(reserved_cores, cols, p.current[rows, cols] * p.threads[rows])
    np.add.at(reserved_mem, cols, p.estimate(rows, p.current[rows, cols]))
    for row in cheapest_first(p).tolist():
        hosts = np.flatnonzero(p.current[row])
        reserved_cores[hosts] -= p.current[row, hosts] * p.threads[row]
        reserved_mem[hosts] -= p.estimate(row, p.current[row, hosts])
        for col in hosts.tolist():
            _keep(ledger, row, col)
        _fill(ledger, row, reserved_cores, reserved_mem)
        _fill(ledger, row)
    return ledger.alloc


def _keep(ledger: Ledger, row: int, col: int) -> None:
    """As many of `row`'s current allocations on `col` as still fit there."""
    count = min(int(ledger.p.current[row, col]), int(ledger.remaining[row]))
    while count > 0:
        memory = ledger.memory_needed_one(row, col, count)
        if ledger.fits(row, col, count, memory):
            ledger.assign(row, col, count, memory)
            return
        count -= 1


def _fill(
    ledger: Ledger, row: int, reserved_cores: np.ndarray | None = None, reserved_mem: np.ndarray | None = None
) -> None:
    """Place `row`'s remaining allocations step by step, leaving the reserved capacity alone."""
    p = ledger.p
    threads = int(p.threads[row])
    base, slope = int(p.mem_base[row]), int(p.mem_slope[row])
    while ledger.remaining[row] > 0:
        cores = ledger.cores if reserved_cores is None else ledger.cores - reserved_cores
        mem = ledger.mem if reserved_mem is None else ledger.mem - reserved_mem
        count = np.minimum(cores // threads, ledger.remaining[row])
        if slope > 0:
            # memory grows per allocation: no more than the node's memory holds
            before = ledger.alloc[row]
            budget = mem + p.estimate(row, before)
            count = np.minimum(count, (budget - base) // slope - before)
        memory = ledger.memory_needed(row, count)
        usable = (count > 0) & (memory <= mem)
        if not usable.any():
            return
        cols = np.flatnonzero(usable)
        hosted = ledger.alloc[row, cols] > 0
        best = cols[np.lexsort((mem[cols] - memory[cols], -count[cols], ~hosted))[0]]
        ledger.assign(row, int(best), int(count[best]), int(memory[best]))
