"""The elasticsearch planner skips work whose result cannot matter (scheduler/README.md,
"Speed without changing a plan"): preserve-one where it surely falls short of a current
total, the LP where the rounding's greedy first plan already has the best possible quality,
the offer-by-offer merge where every node takes all its offers. Each, turned off, gives
the same plans and reasons."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.instances import random_instance
from scheduler import es_model, es_planner, es_solver, plan
from scheduler.instance import parse_instance

SHORTCUTS = {
    "preserve-one": (es_planner, "_one_falls_short", lambda p: False),
    "lp": (es_solver, "_lp_cannot_matter", lambda p, start: False),
    "merge at once": (es_model.Builder, "add_all", lambda self, rows, cols, counts: False),
}


def _instances() -> list:
    rng = np.random.default_rng(11)
    instances = [
        random_instance(rng, size, size, demand, zones, low_fraction=0.3)
        for size in (8, 20, 40)
        for demand in (0.7, 1.3)
        for zones in (1, 3)
    ]
    return [parse_instance(i) for i in instances + [_plus_one(i) for i in instances]]


def _plus_one(instance: dict) -> dict:
    """The cluster as planned, then one more allocation for its first deployment (the
    `_update` +1: every other deployment's preserve pass asks for nothing)."""
    planned = plan(*parse_instance(instance), mode="elasticsearch").assignments
    deployments = [{**d, "current_allocations": dict(planned.get(d["id"], {}))} for d in instance["deployments"]]
    deployments[0]["allocations"] += 1
    return {**instance, "deployments": deployments}


def _plans(instances: list) -> list:
    return [(p.assignments, p.reasons) for p in (plan(n, d, mode="elasticsearch") for n, d in instances)]


@pytest.mark.parametrize("shortcut", sorted(SHORTCUTS))
def test_a_shortcut_changes_no_plan(monkeypatch, shortcut) -> None:
    owner, name, off = SHORTCUTS[shortcut]
    instances = _instances()
    taken = []
    original = getattr(owner, name)

    def counted(*args):
        taken.append(bool(original(*args)))
        return taken[-1]

    monkeypatch.setattr(owner, name, counted)
    with_shortcut = _plans(instances)
    assert any(taken), "the instances never take the shortcut"
    monkeypatch.setattr(owner, name, off)
    assert _plans(instances) == with_shortcut


def test_the_lp_without_deployments_asking_for_nothing_has_the_same_solution(monkeypatch) -> None:
    """Preserve passes of a nearly satisfied cluster ask most deployments for nothing; the LP
    solved without their rows gives the very solution of the whole LP."""
    calls = []
    original = es_solver._solve_lp

    def both(*args):
        reduced = original(*args)
        calls.append((bool((args[0].allocations <= 0).any()), reduced, es_solver._solve_full_lp(*args)))
        return reduced

    monkeypatch.setattr(es_solver, "_solve_lp", both)
    rng = np.random.default_rng(5)
    for size in (10, 30, 60):
        for zones in (1, 3):
            plan(*parse_instance(random_instance(rng, size, size, 0.9, zones, placed_fraction=1.0)), mode="elasticsearch")
    assert sum(idle for idle, _, _ in calls) >= 3, "no LP had a deployment asking for nothing"
    for _, reduced, full in calls:
        assert (reduced is None) == (full is None)
        if full is not None:
            assert np.array_equal(reduced, full)


def test_no_plan_a_solver_makes_beats_the_best_quality_bound(monkeypatch) -> None:
    """The LP shortcut trusts `Problem.best_quality` as an upper bound: every plan the solver
    returns (bin-pack or rounded, with the LP always solved) stays within it."""
    checked = []
    original = es_solver.solve

    def bounded(p, bin_packing_only):
        result = original(p, bin_packing_only)
        assert result.quality() <= result.p.best_quality()
        checked.append(result.alloc[result.p.hosts].sum() > 0)
        return result

    monkeypatch.setattr(es_solver, "_lp_cannot_matter", lambda p, start: False)
    monkeypatch.setattr(es_planner, "solve", bounded)
    _plans(_instances())
    assert sum(checked) >= 10, "too few plans place allocations on their deployments' current nodes"
