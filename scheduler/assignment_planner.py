"""Elasticsearch's planner for one set of nodes (one zone, or a cluster without zones).

Try preserve-one first; fall back to preserve-all when preserve-one loses current
allocations, or keep the better of the two when preserve-one leaves demand unmet. If a
deployment that ever had allocations ends with none, seed one allocation each with the
bin-pack, re-plan from that seed and keep whichever plan keeps more of them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .arrays import Arrays
from .binpack import bin_pack
from .preserve import solve_preserving
from .quality import (
    all_previously_assigned_kept,
    previously_assigned_kept,
    quality,
    satisfies_all,
    satisfies_current,
)


def plan_nodes(p: Arrays, keep_previously_assigned: bool = True) -> np.ndarray:
    """Allocations per (deployment, node) for `p` (rows and columns in id order)."""
    one = solve_preserving(p, keep_all=False)
    if not satisfies_current(p, one):
        best = solve_preserving(p, keep_all=True)
    elif not satisfies_all(p, one):
        every = solve_preserving(p, keep_all=True)
        best = every if quality(p, every) >= quality(p, one) else one
    else:
        best = one
    if keep_previously_assigned and not all_previously_assigned_kept(p, best):
        seeded_problem = _seed_previously_assigned(p)
        seeded = plan_nodes(seeded_problem, keep_previously_assigned=False)
        if all_previously_assigned_kept(p, seeded) or previously_assigned_kept(
            p, best
        ) < previously_assigned_kept(p, seeded):
            best = seeded
    return best


def _seed_previously_assigned(p: Arrays) -> Arrays:
    """`p` with, as its only current placement, one bin-packed allocation per deployment
    that ever had allocations."""
    rows = np.flatnonzero(p.max_assigned > 0)
    ones = p.take(rows)
    ones = ones.with_current(np.zeros(ones.shape, dtype=np.int64))
    ones = replace(ones, allocations=np.ones(len(rows), dtype=np.int64))
    seed = np.zeros(p.shape, dtype=np.int64)
    seed[rows] = bin_pack(ones)
    return p.with_current(seed)
