"""Elasticsearch's planning objects: the node and deployment records its planner passes
around, and the plan builder that accounts memory and cores while a plan is built.

Elasticsearch's passes each hand the next one *modified* records (a node with the preserved
allocations' memory and cores taken off, a deployment asking for fewer allocations and
remembering other current allocations), so these are plain immutable records and every pass
builds its own; `Problem` turns a list of them into the arrays the hot loops need.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np

from .memory import MemoryCurve


@dataclass(frozen=True, slots=True)
class EsNode:
    id: str
    memory: int  # bytes the planner may still use on the node
    cores: int


@dataclass(frozen=True)
class EsDeployment:
    """`AssignmentPlan.Deployment`. `current` is `currentAllocationsByNodeId`: besides the
    allocations running now it may hold zero counts and nodes outside the pass's node list
    (a zone's planner sees the deployment's placement in every zone); both matter, since
    Elasticsearch asks whether a node is a *key* of the map and whether the map is empty."""

    id: str
    model_bytes: int  # Elasticsearch's `memoryBytes`: what the LP and the rounding weigh
    allocations: int
    threads: int
    curve: MemoryCurve  # the estimate the builder charges
    current: Mapping[str, int] = field(default_factory=dict)
    max_assigned: int = 0
    low: bool = False
    per_allocation_bytes: int = 0
    step_cap: int = 0  # per-allocation bytes when both memory metadata are set, else 0

    @property
    def current_total(self) -> int:
        return sum(self.current.values())

    def but(self, **changes) -> "EsDeployment":
        """A copy with some fields changed (the passes build many: cheaper than
        `dataclasses.replace`, which inspects the fields every time)."""
        copy = object.__new__(EsDeployment)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def estimate(self, allocations: int) -> int:
        return self.curve.at(allocations)


class Problem:
    """Nodes and deployments in the order a pass gives them, as arrays (rows deployments).

    A preserve pass hands its solver this problem with the preserved allocations taken off
    (`preserving`) and the solver drops the deployments it cannot place (`rows`); those
    derived problems keep the records for what they name (ids, memory curves, the keys of
    current maps), while their numbers are only in the arrays."""

    #: the per-deployment arrays, one row per deployment
    ROW_ARRAYS = (
        "model_bytes", "allocations", "threads", "floor", "base", "slope", "step_cap", "max_assigned",
        "current_total", "per_allocation_bytes", "has_current", "low", "one_allocation",
    )

    def __init__(self, nodes: Sequence[EsNode], deployments: Sequence[EsDeployment]) -> None:
        self.nodes = list(nodes)
        self.deployments = list(deployments)
        self.node_index = {n.id: j for j, n in enumerate(self.nodes)}
        self.mem = np.array([n.memory for n in self.nodes], dtype=np.int64)
        self.cores = np.array([n.cores for n in self.nodes], dtype=np.int64)
        # one pass over the records, one array per field (a pass builds several problems)
        rows = [
            (d.model_bytes, d.allocations, d.threads, d.curve.floor, d.curve.base, d.curve.slope, d.step_cap,
             d.max_assigned, sum(d.current.values()), d.per_allocation_bytes, bool(d.current), d.low)
            for d in self.deployments
        ]
        table = np.array(rows, dtype=np.int64).reshape(len(rows), 12)
        (self.model_bytes, self.allocations, self.threads, self.floor, self.base, self.slope, self.step_cap,
         self.max_assigned, self.current_total, self.per_allocation_bytes) = (
            np.ascontiguousarray(table[:, k]) for k in range(10)
        )
        self.has_current = table[:, 10].astype(bool)
        self.low = table[:, 11].astype(bool)
        # `MemoryCurve.at(1)`
        self.one_allocation = np.maximum(self.floor, self.base + self.slope)
        # each row's row in the problem built from records that this one derives from
        self.origin = np.arange(len(self.deployments))
        self._lists()

    def _lists(self) -> None:
        """The arrays the scalar paths read as Python ints (numpy scalar access costs more)."""
        self.curves = [d.curve for d in self.deployments]
        self.threads_of = self.threads.tolist()
        self.mem_of = self.mem.tolist()
        self.cores_of = self.cores.tolist()
        self.low_of = self.low.tolist()
        self.step_cap_of = self.step_cap.tolist()
        self.one_allocation_of = self.one_allocation.tolist()

    def preserving(
        self, used_mem: Sequence[int], used_cores: Sequence[int], preserved: Sequence[int], current_total: Sequence[int]
    ) -> "Problem":
        """What a preserve pass gives its solver: `used_mem`/`used_cores` taken off each node,
        `preserved` off each deployment's ask, `current_total` what its current map (same
        keys, so the same hosts) now adds up to."""
        q = copy.copy(self)
        q.hosts = self.hosts  # the same keys: computed once, shared by every pass's copy
        q.mem = self.mem - np.array(used_mem, dtype=np.int64)
        q.cores = self.cores - np.array(used_cores, dtype=np.int64)
        q.allocations = self.allocations - np.array(preserved, dtype=np.int64)
        q.current_total = np.array(current_total, dtype=np.int64)
        q.mem_of, q.cores_of = q.mem.tolist(), q.cores.tolist()
        return q

    def rows(self, keep: np.ndarray) -> "Problem":
        """Only the deployments where `keep` (bool per row) is set."""
        q = copy.copy(self)
        q.deployments = [d for d, k in zip(self.deployments, keep.tolist()) if k]
        for name in self.ROW_ARRAYS + ("origin",):
            setattr(q, name, getattr(self, name)[keep])
        q.__dict__.pop("host_columns", None)
        if "hosts" in self.__dict__:
            q.hosts = self.hosts[keep]
        q._lists()
        return q

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.deployments), len(self.nodes)

    @cached_property
    def hosts(self) -> np.ndarray:
        """bool[D, N]: the node is a key of the deployment's current map."""
        h = np.zeros(self.shape, dtype=bool)
        for i, d in enumerate(self.deployments):
            for node_id in d.current:
                j = self.node_index.get(node_id)
                if j is not None:
                    h[i, j] = True
        return h

    @cached_property
    def host_columns(self) -> dict[int, list[int]]:
        """Row -> the columns of the nodes in its current map, for rows that have some."""
        rows, cols = np.nonzero(self.hosts)
        columns: dict[int, list[int]] = {}
        for i, j in zip(rows.tolist(), cols.tolist()):
            columns.setdefault(i, []).append(j)
        return columns

    def best_quality(self) -> tuple[bool, int, int]:
        """No plan that gives no deployment more than it asks for has a better
        `Builder.quality`: every current total kept, every allocation asked for placed, as
        many on nodes in its current map as their free cores hold (low-priority deployments
        use no cores), each deployment on a single node. (A +1 on a cluster whose hosts are
        full places its allocation elsewhere, and that is the best plan there is.)"""
        asked = np.maximum(self.allocations, 0)
        fit = np.maximum(self.cores, 0)[None, :] // np.maximum(self.threads, 1)[:, None]
        room = np.where(self.low[:, None], asked[:, None], fit)  # what one node of its map can take
        host_room = np.where(self.hosts, room, 0).sum(axis=1)
        weighted = 10 * int(asked.sum()) + int(np.minimum(asked, host_room).sum())
        return True, weighted, -int(self.model_bytes[asked > 0].sum())

    def estimate(self, i: int, allocations: np.ndarray | int) -> np.ndarray | int:
        """Memory of `allocations` of deployment `i` on one node (0 for none)."""
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
            plan.rem_alloc -= np.bincount(rows, weights=counts, minlength=len(p.deployments)).astype(np.int64)
        plan.rem_mem = np.array(rem_mem, dtype=np.int64)
        plan.rem_cores = np.array(rem_cores, dtype=np.int64)
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
        np.subtract.at(self.rem_alloc, rows, counts)
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
        a = self.alloc
        weighted = 10 * int(a.sum()) + int(a[self.p.hosts].sum())
        memory = -int((self.p.model_bytes[:, None] * (a > 0)).sum())
        return self.satisfies_current(), weighted, memory

    def entries(self) -> list[tuple[int, int, int]]:
        """(deployment row, node column, allocations) for every entry, row by row."""
        rows, cols = np.nonzero(self.alloc)
        return list(zip(rows.tolist(), cols.tolist(), self.alloc[rows, cols].tolist()))

    def by_id(self) -> dict[tuple[str, str], int]:
        """(deployment id, node id) -> allocations, for passes that map plans across records."""
        rows, cols = np.nonzero(self.alloc)
        deployments, nodes = self.p.deployments, self.p.nodes
        return {
            (deployments[i].id, nodes[j].id): count
            for i, j, count in zip(rows.tolist(), cols.tolist(), self.alloc[rows, cols].tolist())
        }
