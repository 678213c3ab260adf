"""The `elasticsearch` mode: the plan Elasticsearch's rebalancer would compute.

Normal-priority deployments are planned zone-aware over all nodes; low-priority ones
afterwards on the memory left (see `low_priority`). Elasticsearch runs an LP with
randomized rounding on small problems; this mode always uses its greedy path (see
scheduler/README.md for why).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .arrays import build_arrays, record_assignments
from .assignment_planner import plan_nodes
from .low_priority import plan_low_priority
from .problem import PlanDeployment, PlanNode
from .zones import plan_zones


def plan_elasticsearch(nodes: Sequence[PlanNode], deployments: Sequence[PlanDeployment]) -> dict[str, dict[str, int]]:
    """Assignments for `nodes` and `deployments`, both sorted by id."""
    assignments: dict[str, dict[str, int]] = {d.id: {} for d in deployments}
    if not nodes:
        return assignments
    wanted = [d for d in deployments if d.allocations > 0]
    normal = [d for d in wanted if d.priority != "low"]
    low = [d for d in wanted if d.priority == "low"]
    # Zones in name order, nodes by id within a zone: the order Elasticsearch scans them in.
    by_zone = sorted(range(len(nodes)), key=lambda j: (nodes[j].zone, nodes[j].id))
    zoned = [nodes[j] for j in by_zone]
    p = build_arrays(zoned, normal)
    normal_alloc = plan_zones(p, [n.zone for n in zoned])
    record_assignments(assignments, normal, zoned, normal_alloc)
    if low:
        free = np.empty(len(nodes), dtype=np.int64)  # back in id order, as ES plans low priority
        free[by_zone] = p.mem - p.memory_per_node(normal_alloc)
        record_assignments(assignments, low, nodes, plan_low_priority(nodes, low, free, plan_nodes))
    return assignments
