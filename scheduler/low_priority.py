"""Low-priority deployments: planned after the normal ones, on the memory they left.

They use no cores. A node hosts at most `MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE` of them:
the low-priority pass gives every node that many slots (in place of cores) and each
allocation takes one. Existing routes are kept, smallest deployments first, wherever they
still fit the remaining memory.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from .arrays import build_arrays
from .problem import PlanDeployment, PlanNode

Planner = Callable[..., np.ndarray]


def plan_low_priority(
    nodes: Sequence[PlanNode],
    deployments: Sequence[PlanDeployment],
    free_memory: np.ndarray,
    planner: Planner,
) -> np.ndarray:
    """Allocations per (deployment, node) for low-priority `deployments` (id order).

    `free_memory[j]` is what the normal plan left on `nodes[j]`; `planner(arrays)` plans
    the resulting problem (Elasticsearch's one-zone planner in elasticsearch mode).
    """
    kept = _fitting_current(nodes, deployments, free_memory)
    keeping = [replace(d, current_allocations=k) for d, k in zip(deployments, kept)]
    return planner(build_arrays(nodes, keeping, low_priority_memory=free_memory))


def _fitting_current(
    nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment], free_memory: np.ndarray
) -> list[dict[str, int]]:
    """The current routes that still fit, claimed smallest deployment first."""
    left = {n.id: int(m) for n, m in zip(nodes, free_memory)}
    kept: list[dict[str, int]] = [{} for _ in deployments]
    order = sorted(range(len(deployments)), key=lambda i: (deployments[i].memory_bytes(deployments[i].allocations), deployments[i].id))
    for i in order:
        dep = deployments[i]
        need = dep.memory_bytes(dep.allocations)
        for node_id, count in sorted(dep.current_allocations.items()):
            if count > 0 and node_id in left and left[node_id] >= need:
                kept[i][node_id] = count
                left[node_id] -= need
    return kept
