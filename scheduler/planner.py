"""Entry point: choose a planner mode, time it, and explain what stays unassigned."""

from __future__ import annotations

import time
from typing import Sequence

from .elasticsearch_mode import plan_elasticsearch
from .optimal import plan_optimal
from .problem import Plan, PlanDeployment, PlanNode
from .reasons import explain
from .satisfied import current_assignments, is_satisfied

PLANNER_MODES = ("elasticsearch", "optimal")


def plan(
    nodes: Sequence[PlanNode],
    deployments: Sequence[PlanDeployment],
    mode: str = "elasticsearch",
) -> Plan:
    """Place every deployment's allocations on `nodes`; never exceeds cores or memory.

    `elasticsearch` computes the plan Elasticsearch's rebalancer would; `optimal` places as
    many allocations as possible, then moves as few as possible, then uses least memory.
    """
    if mode not in PLANNER_MODES:
        raise ValueError(f"unknown planner mode [{mode}]; expected one of {list(PLANNER_MODES)}")
    started = time.perf_counter()
    nodes = sorted(nodes, key=lambda n: n.id)
    deployments = sorted(deployments, key=lambda d: d.id)
    upper_bound = None
    if is_satisfied(nodes, deployments):
        assignments = current_assignments(deployments)
    elif mode == "elasticsearch":
        assignments = plan_elasticsearch(nodes, deployments)
    else:
        assignments, upper_bound = plan_optimal(nodes, deployments)
    result = Plan(
        assignments=assignments,
        reasons=explain(nodes, deployments, assignments),
        mode=mode,
        upper_bound=upper_bound,
    )
    result.compute_ms = (time.perf_counter() - started) * 1000.0
    return result
