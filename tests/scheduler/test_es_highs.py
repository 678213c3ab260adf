"""The direct HiGHS call answers exactly as `linprog(method="highs")` does (the plans depend
on which optimal vertex comes back), and a solver call with nothing to place is empty."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csc_matrix, random as sparse_random

from scheduler.es_highs import minimise
from scheduler.es_model import EsDeployment, EsNode, Problem
from scheduler.es_solver import solve
from scheduler.memory import MemoryCurve


def _both(cost: np.ndarray, a: csc_matrix, upper: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    ours = minimise(cost, a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data, upper)
    theirs = linprog(cost, A_ub=a, b_ub=upper, bounds=(0, None), method="highs")
    return ours, (theirs.x if theirs.status == 0 else None)


def test_same_solution_bit_for_bit_as_linprog() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        rows, cols = rng.integers(3, 30, size=2)
        dense = sparse_random(rows, cols, density=0.4, random_state=rng).toarray()
        a = csc_matrix(np.vstack([dense, np.ones((1, cols))]))  # the last row bounds the LP: Σx ≤ cols
        upper = np.concatenate([rng.uniform(0, 5, size=rows), [float(cols)]])
        cost = -rng.uniform(0, 1, size=cols)
        ours, theirs = _both(cost, a, upper)
        assert theirs is not None and ours is not None
        assert np.array_equal(ours, theirs)


def test_infeasible_is_none_as_in_linprog() -> None:
    a = csc_matrix(np.array([[1.0, 1.0], [-1.0, -1.0]]))
    ours, theirs = _both(np.array([-1.0, -1.0]), a, np.array([1.0, -2.0]))  # x+y <= 1 and x+y >= 2
    assert ours is None and theirs is None


def test_nothing_to_place_gives_the_empty_plan() -> None:
    curve = MemoryCurve(100, 100, 0)
    nodes = [EsNode("n1", 1000, 4), EsNode("n2", 1000, 4)]
    deployments = [
        EsDeployment("d1", 50, 0, 1, curve, current={"n1": 0}),
        EsDeployment("d2", 50, 0, 2, curve),
    ]
    plan = solve(Problem(nodes, deployments), bin_packing_only=False)
    assert not plan.alloc.any()
    assert plan.rem_mem.tolist() == [1000, 1000] and plan.rem_cores.tolist() == [4, 4]


def test_without_the_private_module_linprog_gives_the_same_answer(monkeypatch) -> None:
    import scheduler.es_highs as es_highs

    rng = np.random.default_rng(11)
    dense = sparse_random(12, 9, density=0.4, random_state=rng).toarray()
    a = csc_matrix(np.vstack([dense, np.ones((1, 9))]))
    upper = np.concatenate([rng.uniform(0, 5, size=12), [9.0]])
    cost = -rng.uniform(0, 1, size=9)
    direct = minimise(cost, a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data, upper)
    monkeypatch.setattr(es_highs, "_DIRECT", False)
    fallback = minimise(cost, a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data, upper)
    assert direct is not None and np.array_equal(direct, fallback)
