"""Pure allocation planning: plain data in, a plan out (no simpy, no I/O)."""

from .memory import MemoryCurve, estimate_memory_bytes, format_bytes, memory_curve
from .planner import PLANNER_MODES, plan
from .problem import MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE, Plan, PlanDeployment, PlanNode
from .reasons import NO_NODES
from .reducer import reduce_allocations
from .satisfied import is_satisfied

__all__ = [
    "MAX_LOW_PRIORITY_DEPLOYMENTS_PER_NODE",
    "MemoryCurve",
    "NO_NODES",
    "PLANNER_MODES",
    "Plan",
    "PlanDeployment",
    "PlanNode",
    "estimate_memory_bytes",
    "format_bytes",
    "is_satisfied",
    "memory_curve",
    "plan",
    "reduce_allocations",
]
