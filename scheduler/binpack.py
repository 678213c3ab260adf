"""Elasticsearch's greedy bin-pack, the plan it computes before (or instead of) its LP.

Deployments go largest first (model size times threads, doubled for ones already running);
each takes, as often as it can, the best node by Elasticsearch's node order — a node it runs
on now, then one with cores for all it still needs, then the closest core fit, then more
memory — and gets as many allocations there as the free cores allow (for deployments with
both memory metadata, no more than free memory // per-allocation bytes), if memory allows.
Nodes are scanned with numpy; ties go to the earlier node, as a stable sort would.
"""

from __future__ import annotations

import numpy as np

from .arrays import Arrays, nonzero_pairs
from .ledger import Ledger


def bin_pack(p: Arrays, held: np.ndarray | None = None) -> np.ndarray:
    """Allocations per (deployment, node) of the greedy plan for `p`."""
    ledger = Ledger(p, held)
    n_deps, n_nodes = p.shape
    if n_deps == 0 or n_nodes == 0 or p.cores.max() <= 0:
        return ledger.alloc
    max_cores = int(p.cores.max())
    # Deployments that cannot fit anywhere (unless already running) are left out.
    candidates = np.flatnonzero(
        (p.has_current | (p.model_bytes <= p.mem.max())) & (p.threads <= max_cores)
    )
    if candidates.size == 0:
        return ledger.alloc
    largest_model = max(int(p.model_bytes[candidates].max()), 1)
    node_memory_score = 0.01 * (p.mem / largest_model)
    size = (np.where(p.has_current[candidates], 2.0, 1.0) * -(p.model_bytes[candidates] / largest_model)) * p.threads[
        candidates
    ]
    hosts = _hosts(p)
    scores = node_memory_score.tolist()
    max_score = float(node_memory_score.max())
    terms = list(zip(*(a.tolist() for a in (p.threads, p.mem_floor, p.mem_base, p.mem_slope, p.step_cap_bytes))))
    # in the preserve passes every host already holds some of its deployment
    hosts_hold = held is p.current
    for row in candidates[np.argsort(size, kind="stable")].tolist():
        if ledger.remaining[row] > 0:
            if row in hosts:
                if _place_on_hosts(ledger, row, hosts[row], scores, max_score, terms[row], hosts_hold) == 0:
                    continue
            _place(ledger, row, node_memory_score)
    return ledger.alloc


def _hosts(p: Arrays) -> dict[int, list[int]]:
    """The nodes each deployment runs on now, in column order."""
    rows, cols = nonzero_pairs(p.current)
    starts = np.flatnonzero(np.diff(rows, prepend=-1))
    ends = np.append(starts[1:], rows.size).tolist()
    cols_list = cols.tolist()
    return {row: cols_list[start:end] for row, start, end in zip(rows[starts].tolist(), starts.tolist(), ends)}


def _place_on_hosts(
    ledger: Ledger,
    row: int,
    hosts: list[int],
    scores: list[float],
    max_score: float,
    terms: tuple[int, int, int, int, int],
    hosts_hold: bool,
) -> int:
    """The steps of a deployment while the best node is provably one it runs on.

    A node the deployment does not run on has an order key of at least `1 − max_score`, and
    of at least `2 + 0.01·(wanted − most free cores) − max_score` when no node has cores for
    all that is wanted; a host below that floor is the best node. Plain Python over the few
    hosts, with the step size, memory and order key computed as the full scan does (same
    arithmetic in the same order, so the same keys and ties; rounding is monotonic, so the
    floors hold for the computed keys too). Returns what is still wanted when a step cannot
    be decided this way (the full scan takes over from there). `terms` are the row's
    threads, memory floor, base and slope and step cap; `hosts_hold` says every host already
    holds some of the row."""
    threads, floor, base, slope, step_cap = terms
    flat = slope == 0 and step_cap == 0
    held = ledger.held
    cores, mem, alloc = ledger.cores, ledger.mem, ledger.alloc
    remaining = int(ledger.remaining[row])
    while remaining > 0:
        wanted = remaining * threads
        best, best_key, best_count, best_memory = -1, 0.0, 0, 0
        for col in hosts:
            free = int(cores[col])
            if free < threads:
                continue
            count = free // threads if free < wanted else remaining
            if flat:  # a node holding some costs nothing more, any other the full estimate
                here = hosts_hold or alloc[row, col] > 0 or (held is not None and held[row, col] > 0)
                memory = 0 if here else max(floor, base)
            else:
                if step_cap > 0:
                    count = max(min(count, int(mem[col]) // step_cap), 0)
                    if count <= 0:
                        continue
                before = int(alloc[row, col]) + (0 if held is None else int(held[row, col]))
                memory = max(floor, base + slope * (before + count)) - (max(floor, base + slope * before) if before > 0 else 0)
            if memory > int(mem[col]):
                continue
            key = (0 + (0 if free >= wanted else 1)) + 0.01 * abs(free - wanted) - scores[col]
            if best < 0 or key < best_key:
                best, best_key, best_count, best_memory = col, key, count, memory
        if best < 0:
            return remaining
        if not best_key < 1 - max_score:
            most_free = int(cores.max())
            if wanted <= most_free or not best_key < 2 + 0.01 * (wanted - most_free) - max_score:
                return remaining
        ledger.assign(row, best, best_count, best_memory)
        remaining -= best_count
    return 0


def _place(ledger: Ledger, row: int, node_memory_score: np.ndarray) -> None:
    """Steps for one deployment, each on the best node by ES's order, until none fits.

    The scan runs over the ledger's own arrays (no copies): a node without cores for one
    allocation is never usable, and cores only shrink.
    """
    p = ledger.p
    # what the node holds of this row: the held part plus steps `_place_on_hosts` took
    before = ledger.alloc[row].copy() if ledger.held is None else ledger.alloc[row] + ledger.held[row]
    not_host = (p.current[row] == 0).astype(np.int64) if p.has_current[row] else 1
    scan = _Scan(ledger.cores, node_memory_score, not_host)
    if p.mem_slope[row] == 0 and p.step_cap_bytes[row] == 0:
        _place_flat(ledger, row, scan, before)
    else:
        _place_sloped(ledger, row, scan, before)


class _Scan:
    """ES's node order for one deployment: free cores change per step, the rest is fixed."""

    def __init__(self, cores: np.ndarray, score: np.ndarray, not_host: np.ndarray | int) -> None:
        self.cores, self.score, self.not_host = cores, score, not_host

    def best(self, wanted_threads: int, usable: np.ndarray) -> int:
        """Index of the first usable node with the smallest ES order key."""
        cores = self.cores
        order = (self.not_host + (cores < wanted_threads)) + 0.01 * np.abs(cores - wanted_threads) - self.score
        return int(np.argmin(np.where(usable, order, np.inf)))


def _place_flat(ledger: Ledger, row: int, scan: _Scan, before: np.ndarray) -> None:
    """A deployment whose memory does not grow with allocations and whose steps memory does
    not cap (the common case): a node it is on costs nothing more, any other its full
    estimate, so which nodes are usable changes only where a step lands."""
    threads = int(ledger.p.threads[row])
    cores, mem = ledger.cores, ledger.mem
    need = np.where(before > 0, 0, max(int(ledger.p.mem_floor[row]), int(ledger.p.mem_base[row])))
    usable = (cores >= threads) & (need <= mem)
    remaining = int(ledger.remaining[row])
    while remaining > 0:
        k = scan.best(remaining * threads, usable)
        if not usable[k]:
            return
        count = min(int(cores[k]) // threads, remaining)
        ledger.assign(row, k, count, int(need[k]))
        remaining -= count
        need[k] = 0
        usable[k] = cores[k] >= threads and mem[k] >= 0


def _place_sloped(ledger: Ledger, row: int, scan: _Scan, before: np.ndarray) -> None:
    """A deployment whose memory grows per allocation or whose step memory caps: the step
    size, and with it the memory a step needs, depends on what is still wanted and on free
    memory, so every step recomputes both."""
    p = ledger.p
    threads = int(p.threads[row])
    cores, mem = ledger.cores, ledger.mem
    floor, base, slope = int(p.mem_floor[row]), int(p.mem_base[row]), int(p.mem_slope[row])
    step_cap = int(p.step_cap_bytes[row])
    held_memory = np.where(before > 0, np.maximum(floor, base + slope * before), 0)
    remaining = int(ledger.remaining[row])
    while remaining > 0:
        count = np.minimum(cores // threads, remaining)
        if step_cap > 0:
            count = np.maximum(np.minimum(count, mem // step_cap), 0)
        # the increase of the estimate; meaningless where count is 0, which is never usable
        memory = np.maximum(floor, base + slope * (before + count)) - held_memory
        usable = (count > 0) & (memory <= mem)
        k = scan.best(remaining * threads, usable)
        if not usable[k]:
            return
        n = int(count[k])
        ledger.assign(row, k, n, int(memory[k]))
        remaining -= n
        before[k] += n
        held_memory[k] = max(floor, base + slope * int(before[k]))
