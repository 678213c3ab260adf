"""Elasticsearch's planning objects: the node and deployment records a plan starts from,
the arrays its passes work on, and the plan builder that accounts memory and cores while a
plan is built.

Elasticsearch's passes each hand the next one *modified* records (a node with the preserved
allocations' memory and cores taken off, a deployment asking for fewer allocations and
remembering other current allocations). Here the records are only a plan's input: `Problem`
turns them into the arrays the hot loops need, and each pass derives its modified problem
from those arrays.
"""

from __future__ import annotations

import copy
from itertools import chain, repeat
from types import MappingProxyType
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from .arrays import nonzero_pairs
from .memory import MemoryCurve


class EsNode(NamedTuple):
    id: str
    memory: int  # bytes the planner may still use on the node
    cores: int


class EsDeployment(NamedTuple):
    """`AssignmentPlan.Deployment`. `current` is `currentAllocationsByNodeId`: besides the
    allocations running now it may hold zero counts and nodes outside the pass's node list
    (a zone's planner sees the deployment's placement in every zone); both matter, since
    Elasticsearch asks whether a node is a *key* of the map and whether the map is empty.

    Named tuples, as the nodes: immutable, and a plan builds one per deployment (a frozen
    dataclass took three times as long to build)."""

    id: str
    model_bytes: int  # Elasticsearch's `memoryBytes`: what the LP and the rounding weigh
    allocations: int
    threads: int
    curve: MemoryCurve  # the estimate the builder charges
    current: Mapping[str, int] = MappingProxyType({})
    max_assigned: int = 0
    low: bool = False
    per_allocation_bytes: int = 0
    step_cap: int = 0  # per-allocation bytes when both memory metadata are set, else 0


class Problem:
    """Nodes and deployments in the order a pass gives them, as arrays (rows deployments).

    A deployment's current map is `current` (its counts on this problem's nodes) and
    `hosts` (the node is a key), plus what the passes ask of the *whole* map, other zones'
    nodes included: `current_total`, `current_keys`, `current_positive`, `has_current`.

    Only the first problem of a plan is built from records; the passes derive theirs from
    it (`select` a zone's deployments and nodes, `with_current`, `but`), a preserve pass
    hands its solver one with the preserved allocations taken off (`preserving`) and the
    solver drops the deployments it cannot place (`rows`): many small Python loops over the
    records per pass cost more than the solver itself did."""

    #: the per-deployment arrays, one row per deployment
    ROW_ARRAYS = (
        "model_bytes", "allocations", "threads", "floor", "base", "slope", "step_cap", "max_assigned",
        "current_total", "current_keys", "current_positive", "per_allocation_bytes", "has_current", "low",
        "one_allocation", "origin",
    )

    def __init__(self, nodes: Sequence[EsNode], deployments: Sequence[EsDeployment]) -> None:
        self.nodes = list(nodes)
        self.ids = [d.id for d in deployments]
        self.curves = [d.curve for d in deployments]
        self.node_index = {n.id: j for j, n in enumerate(self.nodes)}
        self.mem = np.array([n.memory for n in self.nodes], dtype=np.int64)
        self.cores = np.array([n.cores for n in self.nodes], dtype=np.int64)
        # one pass over the records, one array per field
        rows = [
            (d.model_bytes, d.allocations, d.threads, c.floor, c.base, c.slope, d.step_cap, d.max_assigned,
             d.per_allocation_bytes, d.low)
            for d, c in zip(deployments, self.curves)
        ]
        table = np.array(rows, dtype=np.int64).reshape(len(rows), 10)
        (self.model_bytes, self.allocations, self.threads, self.floor, self.base, self.slope, self.step_cap,
         self.max_assigned, self.per_allocation_bytes) = (np.ascontiguousarray(table[:, k]) for k in range(9))
        self.low = table[:, 9].astype(bool)
        self.one_allocation = np.maximum(self.floor, self.base + self.slope)  # `MemoryCurve.at(1)`
        self._current_maps(deployments)
        # each row's row in the pass's problem (the one its solver's problem derives from)
        self.origin = np.arange(len(self.ids))
        self._lists()

    def _current_maps(self, deployments: Sequence[EsDeployment]) -> None:
        """The current maps' arrays, from all their entries at once (-1: a node outside
        this problem; flat lists of ints, which numpy reads several times faster than tuples)."""
        n = len(self.ids)
        self.current_keys = np.array([len(d.current) for d in deployments], dtype=np.int64).reshape(n)
        rows = np.repeat(np.arange(n), self.current_keys)
        node_ids = list(chain.from_iterable(d.current for d in deployments))
        cols = np.array(list(map(self.node_index.get, node_ids, repeat(-1))), dtype=np.int64).reshape(len(rows))
        counts = np.array(list(chain.from_iterable(d.current.values() for d in deployments)), dtype=np.int64)
        counts = counts.reshape(len(rows))
        self.current_total = np.bincount(rows, weights=counts, minlength=n).astype(np.int64)
        self.current_positive = np.bincount(rows[counts > 0], minlength=n)
        self.has_current = self.current_keys > 0
        here = cols >= 0
        self.current = np.zeros(self.shape, dtype=np.int64)
        self.current[rows[here], cols[here]] = counts[here]
        self.hosts = np.zeros(self.shape, dtype=bool)
        self.hosts[rows[here], cols[here]] = True
        self._host_columns: dict[int, list[int]] = {}

    def _lists(self) -> None:
        """The arrays the scalar paths read as Python ints (numpy scalar access costs more)."""
        self.threads_of = self.threads.tolist()
        self.mem_of = self.mem.tolist()
        self.cores_of = self.cores.tolist()
        self.low_of = self.low.tolist()
        self.step_cap_of = self.step_cap.tolist()
        self.one_allocation_of = self.one_allocation.tolist()

    def but(self, **arrays: np.ndarray) -> "Problem":
        """A copy with some arrays replaced (their lists and `host_columns` follow)."""
        q = copy.copy(self)
        q.__dict__.update(arrays)
        if "hosts" in arrays:
            q._host_columns = {}
        q._lists()
        return q

    def rows(self, keep: np.ndarray) -> "Problem":
        """Only the deployments `keep` names (a bool per row, or row indices in the order wanted)."""
        return self.but(**self._rows(keep))

    def select(self, rows: np.ndarray, cols: np.ndarray, **arrays: np.ndarray) -> "Problem":
        """A pass's problem: the deployments at `rows` on the nodes at `cols` (indices, in
        the order wanted), each row its own origin, some row arrays replaced by `arrays`; the
        whole-map figures stay as they are."""
        changes = self._rows(rows)
        nodes = [self.nodes[j] for j in cols.tolist()]
        changes.update(
            nodes=nodes,
            node_index={n.id: j for j, n in enumerate(nodes)},
            mem=self.mem[cols],
            cores=self.cores[cols],
            current=changes["current"][:, cols],
            hosts=changes["hosts"][:, cols],
            origin=np.arange(len(rows)),
            **arrays,
        )
        return self.but(**changes)

    def _rows(self, keep: np.ndarray) -> dict:
        """What `rows` replaces (`select` adds the columns to it, for a single copy)."""
        index = np.flatnonzero(keep).tolist() if keep.dtype == bool else keep.tolist()
        return dict(
            ids=[self.ids[i] for i in index],
            curves=[self.curves[i] for i in index],
            current=self.current[keep],
            hosts=self.hosts[keep],
            **{name: getattr(self, name)[keep] for name in self.ROW_ARRAYS},
        )

    def with_current(self, counts: np.ndarray) -> "Problem":
        """This problem with `counts` (on its nodes, zero where none) as every current map."""
        positive = np.count_nonzero(counts, axis=1)
        return self.but(
            current=counts, hosts=counts > 0, current_total=counts.sum(axis=1), current_keys=positive,
            current_positive=positive, has_current=positive > 0,
        )

    def preserving(
        self, used_mem: np.ndarray, used_cores: np.ndarray, preserved: np.ndarray, current_total: np.ndarray
    ) -> "Problem":
        """What a preserve pass gives its solver: `used_mem`/`used_cores` taken off each node,
        `preserved` off each deployment's ask, `current_total` what its current map (same
        keys, so the same hosts) now adds up to; the solver reads no other current figure."""
        return self.but(
            mem=self.mem - used_mem, cores=self.cores - used_cores, allocations=self.allocations - preserved,
            current_total=current_total,
        )

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ids), len(self.nodes)

    def host_columns(self, i: int) -> list[int]:
        """The columns of the nodes in row `i`'s current map. Asked only for the rows a
        solver places (one in a +1's last pass), so each is found when first asked for."""
        columns = self._host_columns.get(i)
        if columns is None:
            columns = self._host_columns[i] = np.flatnonzero(self.hosts[i]).tolist()
        return columns

    def best_quality(self) -> tuple[bool, int, int]:
        """No plan that gives no deployment more than it asks for has a better
        `Builder.quality`: every current total kept, every allocation asked for placed, as
        many on nodes in its current map as their free cores hold (low-priority deployments
        use no cores), each deployment on a single node. (A +1 on a cluster whose hosts are
        full places its allocation elsewhere, and that is the best plan there is.)"""
        asked = np.maximum(self.allocations, 0)
        rows, cols = nonzero_pairs(self.hosts)  # only the few (deployment, node) in a map
        fit = np.maximum(self.cores[cols], 0) // np.maximum(self.threads[rows], 1)
        room = np.where(self.low[rows], asked[rows], fit)  # what one node of its map can take
        host_room = np.bincount(rows, weights=room, minlength=len(asked)).astype(np.int64)
        weighted = 10 * int(asked.sum()) + int(np.minimum(asked, host_room).sum())
        return True, weighted, -int(self.model_bytes[asked > 0].sum())

    def estimate(self, i: int | np.ndarray, allocations: np.ndarray | int) -> np.ndarray | int:
        """Memory of `allocations` of deployment `i` on one node (0 for none); with arrays,
        of each entry."""
        if isinstance(allocations, (int, np.integer)):
            return self.curves[i].at(int(allocations))
        a = np.asarray(allocations)
        return np.where(a > 0, np.maximum(self.floor[i], self.base[i] + self.slope[i] * a), 0)


class Builder:
    """`AssignmentPlan.Builder` plus the plan's questions: allocations per (deployment, node)
    and what is left of every node and deployment.

    A deployment already given allocations on a node *by this builder* pays only the growth
    of its estimate there; anything else pays the full estimate (so in a preserve pass a
    new allocation on a node whose current ones were set aside pays again, as in ES).
    Low-priority deployments use no cores here.
    """

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.alloc = np.zeros(p.shape, dtype=np.int64)
        self.rem_mem = p.mem.copy()
        self.rem_cores = p.cores.copy()
        self.rem_alloc = p.allocations.copy()
        self.skipped = 0

    @classmethod
    def holding(cls, p: Problem, alloc: Mapping[tuple[int, int], int], rem_mem: list[int], rem_cores: list[int]) -> "Builder":
        """A builder already holding `alloc` ((deployment, node) -> allocations), with what
        is left on each node as accounted by whoever built it."""
        plan = cls(p)
        if alloc:
            rows, cols = np.array(list(alloc), dtype=np.int64).T
            counts = np.fromiter(alloc.values(), dtype=np.int64, count=len(alloc))
            plan.alloc[rows, cols] = counts
            plan.rem_alloc -= np.bincount(rows, weights=counts, minlength=p.shape[0]).astype(np.int64)
        plan.rem_mem = np.array(rem_mem, dtype=np.int64)
        plan.rem_cores = np.array(rem_cores, dtype=np.int64)
        return plan

    def on(self, p: Problem) -> "Builder":
        """This plan as a builder of `p`, a problem with the same nodes, deployments and
        asks (other current maps)."""
        plan = copy.copy(self)
        plan.p = p
        return plan

    def memory_requirement(self, i: int, j: int, count: int) -> int:
        held = int(self.alloc[i, j])
        if held > 0:
            return self.p.estimate(i, held + count) - self.p.estimate(i, held)
        return self.p.estimate(i, count)

    def can_assign(self, i: int, j: int, count: int, memory: int) -> bool:
        return memory <= self.rem_mem[j] and (self.p.low_of[i] or count * self.p.threads_of[i] <= self.rem_cores[j])

    def assign(self, i: int, j: int, count: int, memory: int | None = None) -> None:
        """Add `count` allocations; one that does not fit is skipped and counted (ES throws,
        which none of the recorded plans triggered)."""
        if count <= 0:
            return
        if memory is None:
            memory = self.memory_requirement(i, j, count)
        if not self.can_assign(i, j, count, memory):
            self.skipped += 1
            return
        self.add(i, j, count, memory)

    def add(self, i: int, j: int, count: int, memory: int) -> None:
        """`assign` once `can_assign` said yes (callers that just asked skip the second check)."""
        self.alloc[i, j] += count
        self.rem_mem[j] -= memory
        if not self.p.low_of[i]:
            self.rem_cores[j] -= count * self.p.threads_of[i]
        self.rem_alloc[i] -= count

    def assign_entries(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray) -> None:
        """`assign` for distinct (deployment, node) entries this builder holds nothing of yet,
        in the order given."""
        if not self.add_all(rows, cols, counts):
            for i, j, count in zip(rows.tolist(), cols.tolist(), counts.tolist()):
                self.assign(i, j, count)

    def add_all(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray) -> bool:
        """Add distinct (deployment, node) entries of positive counts this builder holds
        nothing of yet, all at once, if every node can take all of its entries together:
        then no `assign` of them, in any order, could be refused (each check sees at most
        that total, as memory and cores only grow with allocations). False, and nothing
        added, otherwise."""
        p = self.p
        memory = np.maximum(p.floor[rows], p.base[rows] + p.slope[rows] * counts)
        threads = np.where(p.low[rows], 0, counts * p.threads[rows])
        need_mem = np.bincount(cols, weights=memory, minlength=len(p.nodes))
        need_cores = np.bincount(cols, weights=threads, minlength=len(p.nodes))
        if not (np.all(need_mem <= self.rem_mem) and np.all(need_cores <= self.rem_cores)) or self.alloc[rows, cols].any():
            return False
        self.alloc[rows, cols] += counts
        self.rem_mem -= need_mem.astype(np.int64)
        self.rem_cores -= need_cores.astype(np.int64)
        self.rem_alloc -= np.bincount(rows, weights=counts, minlength=len(self.rem_alloc)).astype(np.int64)
        return True

    # -- the plan's questions (AssignmentPlan) --

    def totals(self) -> np.ndarray:
        return self.alloc.sum(axis=1)

    def satisfies_current(self) -> bool:
        p = self.p
        return bool(np.all(~p.has_current | (self.totals() >= p.current_total)))

    def satisfies_all(self) -> bool:
        return bool(np.all(self.rem_alloc == 0))

    def previously_assigned_kept(self) -> int:
        return int(np.count_nonzero((self.p.max_assigned > 0) & (self.totals() > 0)))

    def all_previously_assigned_kept(self) -> bool:
        return self.previously_assigned_kept() == int(np.count_nonzero(self.p.max_assigned > 0))

    def quality(self) -> tuple[bool, int, int]:
        """Bigger is better: keeps current totals; allocations with a 10 % bonus on nodes in
        the current map (times 10, an exact integer: ES sums doubles, see README); then
        less model memory per (deployment, node) used."""
        rows, cols = nonzero_pairs(self.alloc)  # a plan holds few entries
        counts = self.alloc[rows, cols]
        weighted = 10 * int(counts.sum()) + int(counts[self.p.hosts[rows, cols]].sum())
        memory = -int(self.p.model_bytes[rows[counts > 0]].sum())
        return self.satisfies_current(), weighted, memory
