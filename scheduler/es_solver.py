"""Elasticsearch's `LinearProgrammingPlanSolver`: a greedy bin-pack plan, then (for problems
small enough) a relaxed LP solved with HiGHS and rounded 20 times; the better plan wins.

The bin-pack also yields the LP's tie-breaking weights: each step's (deployment, node) gets
a weight that falls a little with every step, every other pair a random one drawn from
`java.util.Random(738921734)` (higher on nodes the deployment runs on), in ES's order.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .es_highs import minimise
from .es_model import Builder, Problem
from .es_rounding import greedy_plan, round_solution
from .java_random import JavaRandom

SEED = 738921734
L1 = 0.9
INITIAL_W = 0.2
#: (nodes + deployments) * nodes * deployments above which ES never builds the LP
LP_SIZE_LIMIT = 10_000_000


def solve(p: Problem, bin_packing_only: bool) -> Builder:
    """The solver's plan for `p`; its rows are only the deployments the solver keeps
    (`Builder.p.ids`): those that fit some node (by model size) or run somewhere,
    and need no more threads than the biggest node has."""
    max_cores = int(p.cores.max()) if p.nodes else 0
    max_node_memory = int(p.mem.max()) if p.nodes else 0
    keep = (p.has_current | (p.model_bytes <= max_node_memory)) & (p.threads <= max_cores)
    if not keep.all():
        p = p.rows(keep)
    if not p.ids or max_cores == 0 or not (p.allocations > 0).any():
        # Nothing to place (a preserve pass of a satisfied cluster): the bin-pack takes no
        # step, the LP can only answer 0 (or is infeasible) and the rounding then places
        # nothing either, so every path ends in the empty plan.
        return Builder(p)
    # everything is normalised by the largest one-allocation estimate
    one = p.one_allocation
    largest = float(one.max())
    norm_node = p.mem / largest
    norm_one = one / largest
    norm_fixed = np.zeros(len(one))  # est(0), which ES's estimate (and ours) makes 0
    norm_per_alloc = p.per_allocation_bytes / largest
    n_deps, n_nodes = p.shape
    # The LP runs unless only the bin-pack is asked for, the problem is too big, or it is
    # surely infeasible; without it the weights (this solver's own draws) are never used.
    lp_runs = (
        not bin_packing_only and (n_nodes + n_deps) * n_nodes * n_deps <= LP_SIZE_LIMIT and not _surely_infeasible(p)
    )
    random = JavaRandom(SEED)
    if not lp_runs:
        return _bin_pack(p, norm_one, norm_node, random, need_weights=False)[0]
    start = greedy_plan(p)  # the rounding's first plan
    if _lp_cannot_matter(p, start):
        # the rounding returns `start`, which has the best quality any plan can have
        # (`Problem.best_quality`); the bin-pack's plan would win only if strictly better
        return start
    packed, weights = _bin_pack(p, norm_one, norm_node, random, need_weights=True)
    x = _solve_lp(p, weights, one, norm_fixed, norm_per_alloc, norm_node, max_cores)
    if x is None:
        return packed
    rounded = round_solution(p, x, random, start)
    return packed if packed.quality() > rounded.quality() else rounded


def _lp_cannot_matter(p: Problem, start: Builder) -> bool:
    """Whether the rounding would surely return its first plan `start`, whatever the LP
    answers (so the LP is not solved): the LP is feasible, as placing nothing is (nothing
    to keep, no node over-committed), so it is solved and rounded; and `start` already
    has the best quality any rounded plan can have (a round replaces the best only when
    strictly better). The low-priority passes are usually so: every deployment placed."""
    feasible_at_zero = (
        (p.current_total <= 0).all() and (p.allocations >= 0).all() and (p.cores >= 0).all() and (p.mem >= 0).all()
    )
    return bool(feasible_at_zero) and start.quality() == p.best_quality()


def _bin_pack(
    p: Problem, norm_one: np.ndarray, norm_node: np.ndarray, random: JavaRandom, need_weights: bool
) -> tuple[Builder, np.ndarray | None]:
    """ES's greedy plan: deployments biggest first (one-allocation estimate x threads, doubled when it
    runs somewhere), each step on the best node by ES's node order, as many allocations as
    the node's free cores allow, if memory allows; plus the LP weights."""
    plan = Builder(p)
    n_deps, n_nodes = p.shape
    w = INITIAL_W
    dw = w / n_nodes / n_deps
    weights = np.full(p.shape, np.nan) if need_weights else None
    size = (np.where(p.has_current, 2, 1) * -norm_one) * p.threads
    order = _NodeOrder(p, norm_node)
    allocations = p.allocations.tolist()
    for i in np.argsort(size, kind="stable").tolist():
        if allocations[i] <= 0:
            continue
        for j in _pack(plan, i, order):
            if weights is not None:
                weights[i, j] = w
            w -= dw
    if weights is None:
        return plan, None
    # every other pair, deployment by deployment, node by node: a random weight, in [w/2, w)
    # on a node in the deployment's current map, [0, w/2) elsewhere
    rest = np.isnan(weights)
    host = p.hosts[rest]
    weights[rest] = random.next_doubles_between(np.where(host, w / 2, 0.0), np.where(host, w, w / 2))
    return plan, weights


class _NodeOrder:
    """ES's node order for a bin-pack step of `threads` per allocation wanting `wanted`
    cores: ascending `((not in the current map) + [free cores < wanted]) + 0.01·|free cores −
    wanted| − 0.01·memory/largest estimate`, the first lowest node winning.

    All but the memory term depend on the node only through its free cores, a small
    integer, so they are tabulated once per (threads, wanted) over every core count the
    pass can see — the same float expression, so the same keys — with +inf below `threads`
    (no allocation fits). A step's keys are then one lookup and one subtraction instead of a
    dozen numpy calls on node-long arrays (per-call overhead was most of a step)."""

    def __init__(self, p: Problem, norm_node: np.ndarray) -> None:
        self.memory_score = 0.01 * norm_node
        self.memory_score_of = self.memory_score.tolist()
        # free cores only fall during a pass; below 0 reads as 0 (never usable)
        self.max_cores = max(int(p.cores.max(initial=0)), 0)
        # how many nodes have each count of free cores (below 0 as 0) and the most any has
        # now: a step needing more has no usable node
        self.nodes_with = [0] * (self.max_cores + 1)
        for c in p.cores_of:
            self.nodes_with[max(c, 0)] += 1
        self.most_free = self.max_cores
        self.host_columns = p.host_columns

    def keys(self, i: int, threads: int, wanted: int, cores: np.ndarray) -> np.ndarray:
        """Every node's key for deployment `i`'s step, +inf where fewer than `threads`
        cores are free."""
        keys = _core_table(1, threads, wanted, self.max_cores).take(cores, mode="clip") - self.memory_score
        for j in self.host_columns(i):
            keys[j] = self.key(i, j, threads, wanted, int(cores[j]))
        return keys

    def cores_taken(self, before: int, after: int) -> None:
        """A step left a node with `after` free cores instead of `before`."""
        self.nodes_with[before] -= 1
        self.nodes_with[after] += 1
        while self.most_free > 0 and not self.nodes_with[self.most_free]:
            self.most_free -= 1

    def key(self, i: int, j: int, threads: int, wanted: int, cores: int) -> float:
        """One node's key (as in `keys`)."""
        not_host = 0 if j in self.host_columns(i) else 1
        return _core_table(not_host, threads, wanted, self.max_cores)[max(cores, 0)] - self.memory_score_of[j]


@lru_cache(maxsize=1024)  # the 48 recorded plans use ~300
def _core_table(not_host: int, threads: int, wanted: int, max_cores: int) -> np.ndarray:
    """`_NodeOrder`'s key without the memory term for free cores 0..max_cores (+inf below
    `threads`); cached across passes, which mostly ask for the same few (read-only)."""
    c = np.arange(max_cores + 1)
    table = (not_host + (c < wanted)) + 0.01 * np.abs(c - wanted)
    table[c < threads] = np.inf
    table.flags.writeable = False
    return table


def _pack(plan: Builder, i: int, order: _NodeOrder) -> list[int]:
    """Deployment `i`'s steps, each on the first best usable node by `order`: as many
    allocations as its free cores allow (threads >= 1, validated on input), if memory
    allows; the chosen nodes in step order."""
    p = plan.p
    remaining = int(plan.rem_alloc[i])
    t, curve, step_cap = p.threads_of[i], p.curves[i], p.step_cap_of[i]
    flat = curve.slope == 0 and step_cap == 0
    one = p.one_allocation_of[i]
    # The deployment is packed once on a fresh row, so what it holds (and what that costs)
    # changes only on the nodes its own steps pick.
    held: list[int] = []
    held_cost = np.zeros(len(p.nodes), dtype=np.int64) if not flat else None
    steps = []
    while remaining > 0 and t <= order.most_free:  # else no node has a step's cores free
        cores, rem_mem = plan.rem_cores, plan.rem_mem
        wanted = remaining * t
        key = order.keys(i, t, wanted, cores)
        if flat:  # the estimate does not grow: a node holding some costs nothing more
            np.putmask(key, rem_mem < one, np.inf)
            for j in held:
                c = int(cores[j])
                key[j] = order.key(i, j, t, wanted, c) if c >= t and rem_mem[j] >= 0 else np.inf
        else:
            # Java's int division differs from floor division only below 0, where the count
            # is not positive either way and the node is not usable
            count = np.minimum(cores // t, remaining)
            if step_cap > 0:
                count = np.maximum(np.minimum(count, rem_mem // step_cap), 0)
            # estimate(held + count) - estimate(held); wherever count > 0 the first term is
            # the curve itself (count <= free cores // t keeps count·t <= cores)
            if held:
                need = np.maximum(curve.floor, curve.base + curve.slope * (plan.alloc[i] + count)) - held_cost
            else:
                need = np.maximum(curve.floor, curve.base + curve.slope * count)
            np.putmask(key, (count <= 0) | (need > rem_mem), np.inf)
        j = int(key.argmin())
        if key[j] == np.inf:  # no node usable
            break
        free = int(cores[j])
        if flat:
            count_j, need_j = min(free // t, remaining), 0 if j in held else one
        else:
            count_j, need_j = int(count[j]), int(need[j])
        plan.add(i, j, count_j, need_j)  # usable: it fits (count_j >= 1)
        order.cores_taken(free, int(cores[j]))
        remaining -= count_j
        if j not in held:
            held.append(j)
        if held_cost is not None:
            held_cost[j] = curve.at(int(plan.alloc[i, j]))
        steps.append(j)
    return steps


def _surely_infeasible(p: Problem) -> bool:
    """Infeasibility the LP would find, seen without it: a deployment that must keep more
    than it asks for (a zone's preserve pass counts current allocations in every zone), or
    more threads to keep than all nodes have."""
    if np.any(p.current_total > p.allocations):
        return True
    return int((p.current_total * p.threads).sum()) > int(np.maximum(p.cores, 0).sum())


def _solve_lp(
    p: Problem,
    weights: np.ndarray,
    one: np.ndarray,
    norm_fixed: np.ndarray,
    norm_per_alloc: np.ndarray,
    norm_node: np.ndarray,
    max_cores: int,
) -> np.ndarray | None:
    """The LP's solution (see `_solve_full_lp`), found without the deployments that ask for
    nothing (every other one when a satisfied cluster gets a +1): their pairs are fixed at 0
    (Σ a ≤ 0, a ≥ 0) and their at-least rows hold there (a current total above the ask
    never reaches the LP, see `_surely_infeasible`), so the LP without their rows has the
    same optima, and HiGHS spends its time on the rows that are left."""
    live = p.allocations > 0
    if live.all():
        return _solve_full_lp(p, weights, one, norm_fixed, norm_per_alloc, norm_node, max_cores)
    sub = _solve_full_lp(p.rows(live), weights[live], one[live], norm_fixed[live], norm_per_alloc[live], norm_node, max_cores)
    if sub is None:
        return None
    x = np.zeros(p.shape)
    x[live] = sub
    return x


def _solve_full_lp(
    p: Problem,
    weights: np.ndarray,
    one: np.ndarray,
    norm_fixed: np.ndarray,
    norm_per_alloc: np.ndarray,
    norm_node: np.ndarray,
    max_cores: int,
) -> np.ndarray | None:
    """The relaxed LP (allocations per pair, real, >= 0), or None when it is infeasible.

    Maximise Σ a·(1 + weight − 10 where one allocation does not fit the node) − 0.9·Σ a·f/C
    (f the normalised fixed memory, est(0), which ES's estimate makes 0); current total
    ≤ Σ_node a ≤ allocations; threads·a within each node's cores; memory (fixed memory spread
    per core plus per-allocation memory, per thread) within each node's, counted only where
    the deployment is not in the node's current map.
    """
    n_deps, n_nodes = p.shape
    too_big = (one[:, None] > p.mem[None, :]).astype(float) * 10
    objective = (1 + weights - too_big) - L1 * norm_fixed[:, None] / max_cores
    # a node without cores takes nothing anyway (its core row); ES's coefficient there is 0/0
    cores = np.where(p.cores > 0, p.cores, 1).astype(float)
    per_alloc = (norm_fixed[:, None] / cores[None, :] + norm_per_alloc[:, None]) * p.threads[:, None]
    counted = ~p.hosts & (per_alloc != 0)
    # A in CSC, one column per pair (deployment-major): rows at most, at least (negated),
    # node cores, node memory where counted; row indices ascending within a column
    dep = np.repeat(np.arange(n_deps), n_nodes)
    node = np.tile(np.arange(n_nodes), n_deps)
    counted_flat = counted.ravel()
    per_col = 3 + counted_flat
    indptr = np.zeros(dep.size + 1, dtype=np.int64)
    np.cumsum(per_col, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int64)
    data = np.empty(indices.size)
    first = indptr[:-1]
    indices[first], data[first] = dep, 1.0
    indices[first + 1], data[first + 1] = n_deps + dep, -1.0
    indices[first + 2], data[first + 2] = 2 * n_deps + node, p.threads.astype(float)[dep]
    mem_at = first[counted_flat] + 3
    indices[mem_at], data[mem_at] = 2 * n_deps + n_nodes + node[counted_flat], per_alloc.ravel()[counted_flat]
    upper = np.concatenate([p.allocations, -p.current_total, p.cores, norm_node]).astype(float)
    x = minimise(-objective.ravel(), indptr, indices, data, upper)
    return None if x is None else x.reshape(n_deps, n_nodes)
