"""Elasticsearch's plan-quality order and the questions its planner asks of a plan."""

from __future__ import annotations

import numpy as np

from .arrays import Arrays


def quality(p: Arrays, alloc: np.ndarray) -> tuple[bool, int, int]:
    """Bigger is better: keeps current totals; then allocations with a 10 % bonus for staying
    on a current node (scaled by 10 to stay an exact integer); then less model memory."""
    hosted = p.current > 0
    weighted = 10 * int(alloc.sum()) + int(alloc[hosted].sum())
    memory = -int((p.model_bytes[:, None] * (alloc > 0)).sum())
    return satisfies_current(p, alloc), weighted, memory


def satisfies_current(p: Arrays, alloc: np.ndarray) -> bool:
    """No deployment ends with fewer allocations than it has now."""
    return bool(np.all(~p.has_current | (alloc.sum(axis=1) >= p.current_total)))


def satisfies_all(p: Arrays, alloc: np.ndarray) -> bool:
    return bool(np.all(alloc.sum(axis=1) >= p.allocations))


def previously_assigned_kept(p: Arrays, alloc: np.ndarray) -> int:
    """How many deployments that ever had allocations still get at least one."""
    return int(np.count_nonzero((p.max_assigned > 0) & (alloc.sum(axis=1) > 0)))


def all_previously_assigned_kept(p: Arrays, alloc: np.ndarray) -> bool:
    return previously_assigned_kept(p, alloc) == int(np.count_nonzero(p.max_assigned > 0))
