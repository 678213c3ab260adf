"""The planning problem as numpy arrays: what the hot loops of every mode work on.

Rows are deployments, columns are nodes. Besides the per-node current allocations, a few
per-deployment totals describe the deployment's *whole* current placement, because
Elasticsearch's per-zone planning keeps a deployment's full placement while looking at
one zone's nodes only (see `take`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, PlanDeployment, PlanNode


@dataclass(frozen=True)
class Arrays:
    node_ids: tuple[str, ...]
    mem: np.ndarray  # int64[N] memory available to deployments
    cores: np.ndarray  # int64[N]
    dep_ids: tuple[str, ...]
    allocations: np.ndarray  # int64[D] allocations wanted
    threads: np.ndarray  # int64[D]
    model_bytes: np.ndarray  # int64[D]
    mem_floor: np.ndarray  # int64[D] memory curve, see memory.MemoryCurve
    mem_base: np.ndarray
    mem_slope: np.ndarray
    step_cap_bytes: np.ndarray  # int64[D] per-allocation bytes when both metadata are set, else 0
    max_assigned: np.ndarray  # int64[D]
    current: np.ndarray  # int64[D, N] allocations running now on these nodes
    current_total: np.ndarray  # int64[D] over all nodes, also ones outside this view
    current_hosts: np.ndarray  # int64[D] nodes with current > 0, over all nodes
    has_current: np.ndarray  # bool[D] runs anywhere now

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.dep_ids), len(self.node_ids)

    def estimate(self, rows: np.ndarray | slice | int, allocations: np.ndarray) -> np.ndarray:
        """Memory for `allocations` (broadcast against `rows`' curves); 0 where none."""
        floor = self.mem_floor[rows]
        base = self.mem_base[rows]
        slope = self.mem_slope[rows]
        if np.ndim(allocations) == 2 and np.ndim(floor) == 1:
            floor, base, slope = floor[:, None], base[:, None], slope[:, None]
        return np.where(allocations > 0, np.maximum(floor, base + slope * allocations), 0)

    def memory_per_node(self, alloc: np.ndarray) -> np.ndarray:
        """Memory `alloc` (a [D, N] plan, mostly zeros) uses on each node."""
        rows, cols = nonzero_pairs(alloc)
        return self.per_node(cols, self.estimate(rows, alloc[rows, cols]))

    def per_node(self, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        """`values` summed by node (column)."""
        used = np.zeros(len(self.node_ids), dtype=np.int64)
        np.add.at(used, cols, values)
        return used

    def estimate_one(self, row: int, allocations: int) -> int:
        """Scalar form of `estimate` for the small merge loops."""
        if allocations <= 0:
            return 0
        return max(int(self.mem_floor[row]), int(self.mem_base[row]) + int(self.mem_slope[row]) * allocations)

    def take(self, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> "Arrays":
        """A view on some deployments and nodes; whole-placement totals are kept as they are."""
        p = self
        if rows is not None:
            p = replace(
                p,
                dep_ids=tuple(p.dep_ids[i] for i in rows),
                **{f: getattr(p, f)[rows] for f in _DEP_FIELDS},
            )
        if cols is not None:
            p = replace(
                p,
                node_ids=tuple(p.node_ids[j] for j in cols),
                mem=p.mem[cols],
                cores=p.cores[cols],
                current=p.current[:, cols],
            )
        return p

    def with_current(self, current: np.ndarray) -> "Arrays":
        """The same problem with `current` as the complete current placement."""
        return replace(
            self,
            current=current,
            current_total=current.sum(axis=1),
            current_hosts=(current > 0).sum(axis=1),
            has_current=(current > 0).any(axis=1),
        )


_DEP_FIELDS = (
    "allocations",
    "threads",
    "model_bytes",
    "mem_floor",
    "mem_base",
    "mem_slope",
    "step_cap_bytes",
    "max_assigned",
    "current",
    "current_total",
    "current_hosts",
    "has_current",
)


_NONE = np.zeros(0, dtype=np.int64)


def nonzero_pairs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.nonzero` of a 2-d array, in the same (row-major) order: through the flat indices,
    which is several times faster for the planner's mostly-zero [D, N] matrices."""
    # on a bool array, much faster than on int64 (and comparing a bool array with 0 is slow)
    flat = (a if a.dtype == bool else a != 0).ravel().nonzero()[0]
    return divmod(flat, a.shape[1]) if a.shape[1] else (flat, flat)


def build_arrays(
    nodes: Sequence[PlanNode],
    deployments: Sequence[PlanDeployment],
    *,
    low_priority_memory: np.ndarray | None = None,
) -> Arrays:
    """Arrays for `nodes` and `deployments` in the order given.

    Current allocations on nodes that are not in `nodes` are ignored: those nodes left.
    For the low-priority pass, `low_priority_memory` is the memory the normal plan left on
    each node, and each allocation takes one of a node's 100 low-priority slots (passed as
    cores) and one thread, whatever the deployment says.
    """
    low_priority_pass = low_priority_memory is not None
    col = {n.id: j for j, n in enumerate(nodes)}
    placed = [
        (i, col[node_id], count)
        for i, d in enumerate(deployments)
        for node_id, count in d.current_allocations.items()
        if count > 0 and node_id in col
    ]
    current = np.zeros((len(deployments), len(nodes)), dtype=np.int64)
    rows, cols, counts = (np.array(column, dtype=np.int64) for column in zip(*placed)) if placed else (_NONE,) * 3
    current[rows, cols] = counts
    # per-deployment totals from the few placed entries rather than passes over the matrix
    hosts = np.bincount(rows, minlength=len(deployments))
    curves = [d.memory_curve() for d in deployments]
    ints = lambda values: np.fromiter(values, dtype=np.int64, count=len(deployments))  # noqa: E731
    arrays = Arrays(
        node_ids=tuple(n.id for n in nodes),
        mem=(
            np.asarray(low_priority_memory, dtype=np.int64)
            if low_priority_pass
            else np.fromiter((n.memory_bytes for n in nodes), dtype=np.int64, count=len(nodes))
        ),
        cores=(
            np.full(len(nodes), MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, dtype=np.int64)
            if low_priority_pass
            else np.fromiter((n.cores for n in nodes), dtype=np.int64, count=len(nodes))
        ),
        dep_ids=tuple(d.id for d in deployments),
        allocations=ints(d.allocations for d in deployments),
        threads=ints(1 if low_priority_pass else d.threads_per_allocation for d in deployments),
        model_bytes=ints(d.model_bytes for d in deployments),
        mem_floor=ints(c.floor for c in curves),
        mem_base=ints(c.base for c in curves),
        mem_slope=ints(c.slope for c in curves),
        step_cap_bytes=ints(
            d.per_allocation_memory_bytes if d.per_deployment_memory_bytes > 0 else 0 for d in deployments
        ),
        max_assigned=ints(d.max_assigned_allocations for d in deployments),
        current=current,
        current_total=np.bincount(rows, weights=counts, minlength=len(deployments)).astype(np.int64),
        current_hosts=hosts,
        has_current=hosts > 0,
    )
    return arrays


def record_assignments(
    assignments: dict[str, dict[str, int]],
    dep_ids: Sequence[str],
    node_ids: Sequence[str],
    alloc: np.ndarray,
) -> None:
    """Write an allocation matrix (rows `dep_ids`, columns `node_ids`) into `assignments`,
    node ids sorted and zero entries left out, whatever order the columns were planned in."""
    id_rank = np.empty(len(node_ids), dtype=np.int64)
    id_rank[sorted(range(len(node_ids)), key=node_ids.__getitem__)] = np.arange(len(node_ids))
    rows, cols = nonzero_pairs(alloc)
    order = np.lexsort((id_rank[cols], rows))
    rows, cols = rows[order], cols[order]
    placed: list[dict[str, int]] = [{} for _ in dep_ids]
    for row, col, count in zip(rows.tolist(), cols.tolist(), alloc[rows, cols].tolist()):
        placed[row][node_ids[col]] = count
    for dep_id, its in zip(dep_ids, placed):
        assignments[dep_id] = its
