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

from .es_model import Builder, EsDeployment, EsNode, Problem
from .es_solver import solve, solve_plan


def _preserving(p: Problem, keep_all: bool) -> Builder:
    """`PreserveAllAllocations` / `PreserveOneAllocation` on `p`'s nodes and deployments: set
    the preserved allocations aside (memory for *all* current allocations, cores for the
    preserved ones), solve the rest, merge back node by node on the real nodes."""
    col = p.node_index
    used_mem, used_cores = [0] * len(p.nodes), [0] * len(p.nodes)
    preserved, current_left = [], []
    for d, total in zip(p.deployments, p.current_total.tolist()):
        for node_id, count in d.current.items():
            j = col.get(node_id)
            if j is not None:
                used_mem[j] += d.estimate(count)
                used_cores[j] += count * d.threads if keep_all else d.threads
        # the solver's record keeps the current map's keys with 0 (all) or one less (one)
        # allocation each, and asks for what is not preserved (counted over the whole map)
        if keep_all:
            preserved.append(total)
            current_left.append(0)
        else:
            preserved.append(sum(1 for v in d.current.values() if v > 0))
            current_left.append(total - len(d.current))
    solver_problem = p.preserving(used_mem, used_cores, preserved, current_left)
    return _merge(p, solve(solver_problem, bin_packing_only=False), keep_all)


def _merge(p: Problem, planned: Builder, keep_all: bool) -> Builder:
    """Node by node: the preserved allocations, then the planned new ones, each in
    deployment order and only if it still fits. `planned` was solved on a problem derived
    from `p` (`Problem.preserving`): the same nodes, some of its deployments.

    Usually every node takes all its offers: then the order cannot matter and they go in
    at once; otherwise offer by offer, in plain Python (numpy scalar access per offer cost
    more than the rest of the merge)."""
    offers = _offers(p, planned, keep_all)
    merged = Builder(p)
    if not offers:
        return merged
    cols, _, rows, counts = np.array(offers, dtype=np.int64).T
    n_nodes = len(p.nodes)
    # a deployment's preserved and new allocations on one node are one entry
    total = np.bincount(rows * n_nodes + cols, weights=counts, minlength=p.shape[0] * n_nodes).astype(np.int64)
    entries = np.flatnonzero(total)
    if merged.add_all(entries // n_nodes, entries % n_nodes, total[entries]):
        return merged
    mem, cores = list(p.mem_of), list(p.cores_of)
    alloc: dict[tuple[int, int], int] = {}
    for j, _, i, count in sorted(offers):
        # a preserved entry comes first on its node, so holds nothing yet: the full estimate
        curve, held, low = p.curves[i], alloc.get((i, j), 0), p.low_of[i]
        memory = curve.at(held + count) - curve.at(held)
        if memory <= mem[j] and (low or count * p.threads_of[i] <= cores[j]):
            alloc[i, j] = held + count
            mem[j] -= memory
            if not low:
                cores[j] -= count * p.threads_of[i]
    return Builder.holding(p, alloc, mem, cores)


def _offers(p: Problem, planned: Builder, keep_all: bool) -> list[tuple[int, int, int, int]]:
    """(node, 0 preserved / 1 new, deployment, allocations) for every offer of a positive
    count: the preserved allocations (all, or one per current node) and the planned ones."""
    col = p.node_index
    offers = []
    for i, d in enumerate(p.deployments):
        for node_id, count in d.current.items():
            j = col.get(node_id)
            if j is not None and (count > 0 or not keep_all):
                offers.append((j, 0, i, count if keep_all else 1))
    planned_rows = planned.p.origin.tolist()
    offers.extend((j, 1, planned_rows[r], count) for r, j, count in planned.entries())
    return offers


def plan_nodes(nodes: Sequence[EsNode], deployments: Sequence[EsDeployment], try_previously_assigned: bool = True) -> Builder:
    """`AssignmentPlanner.computePlan`: rows and columns in id order."""
    nodes = sorted(nodes, key=lambda n: n.id)
    deployments = sorted(deployments, key=lambda d: d.id)
    p = Problem(nodes, deployments)
    if _one_falls_short(p):  # preserve-one would be computed only to be discarded
        return _previously_assigned(nodes, deployments, _preserving(p, keep_all=True), try_previously_assigned)
    one = _preserving(p, keep_all=False)
    if not one.satisfies_current():
        best = _preserving(p, keep_all=True)
    elif not one.satisfies_all():
        every = _preserving(p, keep_all=True)
        best = every if every.quality() >= one.quality() else one
    else:
        best = one
    return _previously_assigned(nodes, deployments, best, try_previously_assigned)


def _previously_assigned(
    nodes: list[EsNode], deployments: list[EsDeployment], best: Builder, try_previously_assigned: bool
) -> Builder:
    """`best`, or the plan seeded with one allocation of each deployment that ever had
    some, when `best` drops such a deployment and the seeded plan keeps more of them."""
    if try_previously_assigned and not best.all_previously_assigned_kept():
        seeded = _plan_seeded(nodes, deployments)
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
    col = p.node_index
    for d, current_total in zip(p.deployments, p.current_total.tolist()):
        if d.current:
            here = sum(1 for node_id in d.current if node_id in col)
            positive = sum(1 for v in d.current.values() if v > 0)
            if here + max(0, d.allocations - positive) < current_total:
                return True
    return False


def _plan_seeded(nodes: list[EsNode], deployments: list[EsDeployment]) -> Builder:
    """Bin-pack one allocation of every deployment that ever had allocations, then plan with
    that as the only current placement. ES rebuilds the records here with the constructor
    that has no priority, so low-priority ones plan as normal ones from here on."""
    previously = [
        d.but(allocations=1, current={}, low=False) for d in deployments if d.max_assigned > 0
    ]
    seed = solve_plan(nodes, previously, bin_packing_only=True).by_id()
    node_of = {dep_id: node_id for (dep_id, node_id) in seed}
    return plan_nodes(
        nodes,
        [d.but(current={node_of[d.id]: 1} if d.id in node_of else {}, low=False) for d in deployments],
        try_previously_assigned=False,
    )


def plan_zones(zones: dict[str, list[EsNode]], deployments: list[EsDeployment]) -> Builder:
    """`ZoneAwareAssignmentPlanner.computePlan`: `zones` maps each zone to its nodes."""
    names = sorted(zones)
    if len(names) == 1:
        return plan_nodes(zones[names[0]], deployments, try_previously_assigned=True)
    plan = _plan_zone_by_zone(zones, names, deployments, try_previously_assigned=False)
    if not plan.all_previously_assigned_kept():
        plan = _plan_zone_by_zone(zones, names, deployments, try_previously_assigned=True)
    return plan


def _plan_zone_by_zone(
    zones: dict[str, list[EsNode]], names: list[str], deployments: list[EsDeployment], try_previously_assigned: bool
) -> Builder:
    remaining = {d.id: d.allocations for d in deployments}
    placed: dict[str, dict[str, int]] = {d.id: {} for d in deployments}
    for zones_left, name in zip(range(len(names), 0, -1), names):
        target = {k: 1 + (v - 1) // zones_left for k, v in remaining.items() if v > 0}
        zone_deployments = [
            d.but(
                allocations=target[d.id],
                # only deployments nothing was placed for yet are pushed to keep one allocation
                max_assigned=d.max_assigned if try_previously_assigned and remaining[d.id] == d.allocations else 0,
            )
            for d in deployments
            if target.get(d.id, 0) > 0
        ]
        zone_plan = plan_nodes(zones[name], zone_deployments, try_previously_assigned)
        for (dep_id, node_id), count in zone_plan.by_id().items():
            placed[dep_id][node_id] = placed[dep_id].get(node_id, 0) + count
            remaining[dep_id] -= count
    # one pass over all nodes (zone order, no id sort) keeping every zone allocation
    all_nodes = [n for name in names for n in zones[name]]
    accounting = [d.but(current=placed[d.id]) for d in deployments]
    merged = _preserving(Problem(all_nodes, accounting), keep_all=True)
    final = Builder(Problem(all_nodes, deployments))
    row = {d.id: i for i, d in enumerate(deployments)}
    entries = merged.by_id()
    final.assign_entries(
        np.array([row[dep_id] for dep_id, _ in entries], dtype=np.int64),
        np.array([final.p.node_index[node_id] for _, node_id in entries], dtype=np.int64),
        np.array(list(entries.values()), dtype=np.int64),
    )
    return final
