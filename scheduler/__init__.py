"""Pure allocation planning: plain data in, a plan out (no simpy, no I/O)."""

from .memory import estimate_memory_bytes, format_bytes
from .planner import PLANNER_MODES, plan
from .problem import Plan, PlanDeployment, PlanNode

__all__ = [
    "PLANNER_MODES",
    "Plan",
    "PlanDeployment",
    "PlanNode",
    "estimate_memory_bytes",
    "format_bytes",
    "plan",
]
