"""Elasticsearch's zone-aware planning: spread each deployment's allocations over zones.

Zones are visited in name order; each is asked for `1 + (remaining - 1) // zones_left` of
every deployment's remaining allocations and planned on its own. A last pass over all nodes
keeps everything the zones placed and fills what is still missing. The whole thing runs
first without, and if that loses a previously assigned deployment, with the push to keep
previously assigned deployments at one allocation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .arrays import Arrays
from .assignment_planner import plan_nodes
from .preserve import solve_preserving
from .quality import all_previously_assigned_kept


def plan_zones(p: Arrays, zones: Sequence[str]) -> np.ndarray:
    """Allocations per (deployment, node); `zones[j]` is node j's zone.

    Columns of `p` must be in (zone, id) order: the last pass scans nodes in that order.
    """
    names = sorted(set(zones))
    if len(names) <= 1:
        return plan_nodes(p, keep_previously_assigned=True)
    columns = [np.flatnonzero(np.asarray(zones) == name) for name in names]
    alloc = _plan_zone_by_zone(p, columns, keep_previously_assigned=False)
    if not all_previously_assigned_kept(p, alloc):
        alloc = _plan_zone_by_zone(p, columns, keep_previously_assigned=True)
    return alloc


def _plan_zone_by_zone(p: Arrays, columns: list[np.ndarray], keep_previously_assigned: bool) -> np.ndarray:
    remaining = p.allocations.copy()
    placed = np.zeros(p.shape, dtype=np.int64)
    for zones_left, cols in zip(range(len(columns), 0, -1), columns):
        target = np.where(remaining > 0, 1 + (remaining - 1) // zones_left, 0)
        rows = np.flatnonzero(target > 0)
        untouched = remaining[rows] == p.allocations[rows]
        zone = replace(
            p.take(rows, cols),
            allocations=target[rows],
            # only deployments nothing was placed for yet are pushed to keep one allocation
            max_assigned=np.where(keep_previously_assigned & untouched, p.max_assigned[rows], 0),
        )
        zone_alloc = plan_nodes(zone, keep_previously_assigned)
        placed[np.ix_(rows, cols)] += zone_alloc
        remaining[rows] -= zone_alloc.sum(axis=1)
    # Keep every zone allocation and fill the rest across all nodes.
    return solve_preserving(p.with_current(placed), keep_all=True)
