"""Elasticsearch's `AssignmentPlanner` (one set of nodes) and `ZoneAwareAssignmentPlanner`.

One set of nodes: plan keeping one allocation wherever a deployment runs (its other current
allocations are free to move); if that loses current allocations, keep all of them instead;
if it leaves demand unmet, take the better of both. If a deployment that ever had
allocations ends with none, bin-pack one allocation for each such deployment, re-plan from
that seed, and keep whichever plan keeps more of them.

Several zones: each zone in name order is asked for `1 + (remaining − 1) // zones_left` of
each deployment, then one pass over all nodes keeps every zone allocation and adds what is
still missing; all of it first without and, if that loses a previously assigned deployment,
with the push for previously assigned deployments.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .arrays import nonzero_pairs
from .es_model import Builder, EsDeployment, EsNode, Problem
from .es_solver import solve


def _preserving(p: Problem, keep_all: bool) -> Builder:
    """`PreserveAllAllocations` / `PreserveOneAllocation` on `p`'s nodes and deployments: set
    the preserved allocations aside (memory for *all* current allocations, cores for the
    preserved ones), solve the rest, merge back node by node on the real nodes."""
    rows, cols = nonzero_pairs(p.hosts)  # the current maps' entries on p's nodes
    counts = p.current[rows, cols]
    held = counts if keep_all else 1  # the allocations whose cores are set aside
    n = len(p.nodes)
    used_mem = np.bincount(cols, weights=p.estimate(rows, counts), minlength=n).astype(np.int64)
    used_cores = np.bincount(cols, weights=held * p.threads[rows], minlength=n).astype(np.int64)
    # the solver's record keeps the current map's keys with 0 (all) or one less (one)
    # allocation each, and asks for what is not preserved (counted over the whole map)
    if keep_all:
        preserved, current_left = p.current_total, np.zeros_like(p.current_total)
    else:
        preserved, current_left = p.current_positive, p.current_total - p.current_keys
    solver_problem = p.preserving(used_mem, used_cores, preserved, current_left)
    return _merge(p, solve(solver_problem, bin_packing_only=False), keep_all)


def _merge(p: Problem, planned: Builder, keep_all: bool) -> Builder:
    """Node by node: the preserved allocations (all, or one per current node), then the
    planned new ones, each in deployment order and only if it still fits. `planned` was
    solved on a problem derived from `p` (`Problem.preserving`): the same nodes, some of
    its deployments.

    Usually every node takes all its offers: then the order cannot matter and they go in
    at once; otherwise offer by offer, in plain Python (numpy scalar access per offer cost
    more than the rest of the merge)."""
    preserved = p.current if keep_all else p.hosts.astype(np.int64)
    # a deployment's preserved and new allocations on one node are one entry
    offered = preserved.copy()
    offered[planned.p.origin] += planned.alloc
    rows, cols = nonzero_pairs(offered)
    merged = Builder(p)
    if merged.add_all(rows, cols, offered[rows, cols]):
        return merged
    mem, cores = list(p.mem_of), list(p.cores_of)
    alloc: dict[tuple[int, int], int] = {}
    for j, _, i, count in sorted(_offers(preserved, 0) + _offers(offered - preserved, 1)):
        # a preserved entry comes first on its node, so holds nothing yet: the full estimate
        curve, held, low = p.curves[i], alloc.get((i, j), 0), p.low_of[i]
        memory = curve.at(held + count) - curve.at(held)
        if memory <= mem[j] and (low or count * p.threads_of[i] <= cores[j]):
            alloc[i, j] = held + count
            mem[j] -= memory
            if not low:
                cores[j] -= count * p.threads_of[i]
    return Builder.holding(p, alloc, mem, cores)


def _offers(alloc: np.ndarray, kind: int) -> list[tuple[int, int, int, int]]:
    """(node, `kind` (0 preserved, 1 new), deployment, allocations) for each entry of `alloc`."""
    rows, cols = nonzero_pairs(alloc)
    return [(j, kind, i, count) for i, j, count in zip(rows.tolist(), cols.tolist(), alloc[rows, cols].tolist())]


def plan_nodes(nodes: Sequence[EsNode], deployments: Sequence[EsDeployment], try_previously_assigned: bool = True) -> Builder:
    """`AssignmentPlanner.computePlan`: rows and columns in id order."""
    nodes = sorted(nodes, key=lambda n: n.id)
    deployments = sorted(deployments, key=lambda d: d.id)
    return _plan(Problem(nodes, deployments), try_previously_assigned)


def _plan(p: Problem, try_previously_assigned: bool) -> Builder:
    """`plan_nodes` on a pass's problem (rows and columns in id order)."""
    if _one_falls_short(p):  # preserve-one would be computed only to be discarded
        return _previously_assigned(p, _preserving(p, keep_all=True), try_previously_assigned)
    one = _preserving(p, keep_all=False)
    if not one.satisfies_current():
        best = _preserving(p, keep_all=True)
    elif not one.satisfies_all():
        every = _preserving(p, keep_all=True)
        best = every if every.quality() >= one.quality() else one
    else:
        best = one
    return _previously_assigned(p, best, try_previously_assigned)


def _previously_assigned(p: Problem, best: Builder, try_previously_assigned: bool) -> Builder:
    """`best`, or the plan seeded with one allocation of each deployment that ever had
    some, when `best` drops such a deployment and the seeded plan keeps more of them."""
    if try_previously_assigned and not best.all_previously_assigned_kept():
        seeded = _plan_seeded(p)
        if seeded.all_previously_assigned_kept():
            best = seeded
        elif seeded.previously_assigned_kept() > best.previously_assigned_kept():
            best = seeded
    return best


def _one_falls_short(p: Problem) -> bool:
    """Whether the preserve-one plan surely keeps less than some deployment's current total
    (so `plan_nodes` takes preserve-all without looking at it).

    That plan gives a deployment at most one allocation per current node among `p`'s nodes
    plus what its solver places, and the solver never places more than it is asked for:
    the ask less one per positive entry of the whole current map (a zone's pass sees the
    other zones' entries too), or nothing. Zone passes are usually short this way."""
    here = p.hosts.sum(axis=1)
    most = here + np.maximum(0, p.allocations - p.current_positive)
    return bool((p.has_current & (most < p.current_total)).any())


def _plan_seeded(p: Problem) -> Builder:
    """Bin-pack one allocation of every deployment that ever had allocations, then plan with
    that as the only current placement. ES rebuilds the records here with the constructor
    that has no priority, so low-priority ones plan as normal ones from here on."""
    previously = p.rows(p.max_assigned > 0)
    n = previously.shape[0]
    seed = solve(
        previously.with_current(np.zeros(previously.shape, dtype=np.int64)).but(
            allocations=np.ones(n, dtype=np.int64), low=np.zeros(n, dtype=bool)
        ),
        bin_packing_only=True,
    )
    seeded = np.zeros(p.shape, dtype=np.int64)
    seeded[seed.p.origin] = seed.alloc > 0  # p is a pass's problem: origins are its rows
    return _plan(p.with_current(seeded).but(low=np.zeros(p.shape[0], dtype=bool)), try_previously_assigned=False)


def plan_zones(zones: dict[str, list[EsNode]], deployments: list[EsDeployment]) -> Builder:
    """`ZoneAwareAssignmentPlanner.computePlan`: `zones` maps each zone to its nodes."""
    names = sorted(zones)
    if len(names) == 1:
        return plan_nodes(zones[names[0]], deployments, try_previously_assigned=True)
    # the last pass sees all nodes in zone order, unsorted; each zone's pass, its own by id
    all_nodes = [n for name in names for n in zones[name]]
    columns, start = [], 0
    for name in names:
        columns.append(np.array(sorted(range(start, start + len(zones[name])), key=lambda j: all_nodes[j].id)))
        start += len(zones[name])
    base = Problem(all_nodes, deployments)
    plan = _plan_zone_by_zone(base, columns, try_previously_assigned=False)
    if not plan.all_previously_assigned_kept():
        plan = _plan_zone_by_zone(base, columns, try_previously_assigned=True)
    return plan


def _plan_zone_by_zone(base: Problem, columns: list[np.ndarray], try_previously_assigned: bool) -> Builder:
    """Each zone's pass (`columns` its nodes in `base`) on a problem derived from `base`,
    then one pass over all nodes keeping every zone allocation."""
    by_id = np.array(sorted(range(base.shape[0]), key=base.ids.__getitem__), dtype=np.int64)
    remaining = base.allocations.copy()
    placed = np.zeros(base.shape, dtype=np.int64)
    for zones_left, cols in zip(range(len(columns), 0, -1), columns):
        target = np.where(remaining > 0, 1 + (remaining - 1) // zones_left, 0)
        rows = by_id[target[by_id] > 0]
        # only deployments nothing was placed for yet are pushed to keep one allocation
        pushed = try_previously_assigned & (remaining[rows] == base.allocations[rows])
        pushed_max = np.where(pushed, base.max_assigned[rows], 0)
        zone = base.select(rows, cols, allocations=target[rows], max_assigned=pushed_max)
        zone_plan = _plan(zone, try_previously_assigned)
        r, c = nonzero_pairs(zone_plan.alloc)
        placed[rows[r], cols[c]] += zone_plan.alloc[r, c]
        remaining[rows] -= zone_plan.alloc.sum(axis=1)
    # ES accounts the zone allocations as current ones, then assigns the merged plan to a
    # builder of the original deployments: every entry fits there, as it fitted the same
    # nodes in the merge, so that builder holds just what the merge's does
    return _preserving(base.with_current(placed), keep_all=True).on(base)
