"""The offline plan-instance format (shared/reference/plan-instance-format.md) as plain data.

Pure conversion, no I/O: a parsed JSON object becomes nodes and deployments, a plan becomes
a JSON-ready object. Bad input raises `InstanceError` with a one-line message saying where.
"""

from __future__ import annotations

from typing import Any

from .problem import Plan, PlanDeployment, PlanNode


class InstanceError(ValueError):
    """The instance is not of the documented form."""


def parse_instance(data: Any) -> tuple[list[PlanNode], list[PlanDeployment]]:
    if not isinstance(data, dict):
        raise InstanceError("instance must be a JSON object with [nodes] and [deployments]")
    nodes = [_node(item, f"nodes[{i}]") for i, item in enumerate(_list(data, "nodes", "instance"))]
    deployments = [
        _deployment(item, f"deployments[{i}]") for i, item in enumerate(_list(data, "deployments", "instance"))
    ]
    for kind, items in (("node", nodes), ("deployment", deployments)):
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise InstanceError(f"duplicate {kind} id [{item.id}]")
            seen.add(item.id)
    return nodes, deployments


def plan_to_json(plan: Plan, deployments: list[PlanDeployment]) -> dict[str, Any]:
    """The plan object of the format, with the extra keys the format welcomes."""
    out: dict[str, Any] = {
        "mode": plan.mode,
        "compute_ms": round(plan.compute_ms, 3),
        "assignments": plan.assignments,
        "unassigned": {d.id: max(d.allocations - plan.allocations(d.id), 0) for d in deployments},
        "reasons": plan.reasons,
    }
    if plan.upper_bound is not None:
        out["upper_bound"] = plan.upper_bound
    return out


def _node(item: Any, where: str) -> PlanNode:
    obj = _object(item, where)
    return PlanNode(
        id=_str(obj, "id", where),
        memory_bytes=_int(obj, "memory_bytes", where),
        cores=_int(obj, "cores", where),
        zone=_str(obj, "zone", where, default=""),
    )


def _deployment(item: Any, where: str) -> PlanDeployment:
    obj = _object(item, where)
    priority = _str(obj, "priority", where, default="normal")
    if priority not in ("normal", "low"):
        raise InstanceError(f"{where}.priority must be [normal] or [low], got [{priority}]")
    current = obj.get("current_allocations", {})
    if not isinstance(current, dict) or not all(
        isinstance(k, str) and _is_int(v) and v >= 0 for k, v in current.items()
    ):
        raise InstanceError(f"{where}.current_allocations must map node ids to non-negative integers")
    dep_id = _str(obj, "id", where)
    cache = obj.get("cache_size")
    if cache is not None and not (_is_int(cache) and cache >= 0):
        raise InstanceError(f"{where}.cache_size must be a non-negative integer")
    return PlanDeployment(
        id=dep_id,
        model_id=_str(obj, "model_id", where, default=dep_id),
        model_bytes=_int(obj, "model_bytes", where),
        allocations=_int(obj, "allocations", where),
        threads_per_allocation=_int(obj, "threads_per_allocation", where, default=1, minimum=1),
        priority=priority,
        per_deployment_memory_bytes=_int(obj, "per_deployment_memory_bytes", where, default=0),
        per_allocation_memory_bytes=_int(obj, "per_allocation_memory_bytes", where, default=0),
        cache_size=cache,
        current_allocations=dict(current),
        max_assigned_allocations=_int(obj, "max_assigned_allocations", where, default=0),
    )


_MISSING = object()


def _list(obj: dict, key: str, where: str) -> list:
    value = obj.get(key, _MISSING)
    if not isinstance(value, list):
        raise InstanceError(f"{where}.{key} must be a list")
    return value


def _object(item: Any, where: str) -> dict:
    if not isinstance(item, dict):
        raise InstanceError(f"{where} must be an object")
    return item


def _str(obj: dict, key: str, where: str, default: Any = _MISSING) -> str:
    value = obj.get(key, default)
    if value is _MISSING:
        raise InstanceError(f"{where}.{key} is required")
    if not isinstance(value, str):
        raise InstanceError(f"{where}.{key} must be a string")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(obj: dict, key: str, where: str, default: Any = _MISSING, minimum: int = 0) -> int:
    value = obj.get(key, default)
    if value is _MISSING:
        raise InstanceError(f"{where}.{key} is required")
    if not _is_int(value) or value < minimum:
        raise InstanceError(f"{where}.{key} must be an integer >= {minimum}, got {value!r}")
    return value
