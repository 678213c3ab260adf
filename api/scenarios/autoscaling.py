"""What a scenario reports about autoscaling: the orchestrator's bill, the time from a start
or an allocation increase to fully allocated when the tier had to grow for it, and the
scale steps as marks on the report's plots. Read from the event log as the run goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cluster.events import Event
from cluster.ml_autoscaling.orchestrator import Orchestrator
from scheduler.memory import format_bytes

#: Event kinds marked on the report's plots, with how they are labelled.
MARKED = {
    "autoscaling_scale_up": "scale up",
    "autoscaling_scale_down": "scale down",
    "autoscaling_node_added": "node added",
    "autoscaling_node_removed": "node removed",
}


@dataclass
class _Request:
    deployment_id: str
    cause: str
    at: float
    allocations: int
    scale_ups: int = 0
    fully_allocated_at: float | None = None


class AutoscalingTracker:
    def __init__(self) -> None:
        #: The scenario's time zero on the cluster's clock (set when the warm-up ends).
        self.origin = 0.0
        self._marks: list[tuple[float, str]] = []
        self._requests: list[_Request] = []
        self._open: dict[str, _Request] = {}
        self._allocations: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        f = event.fields
        if event.kind == "deployment_created":
            self._request(_Request(f["deployment_id"], "start", event.time, f["number_of_allocations"]))
        elif event.kind == "deployment_updated":
            before = self._allocations.get(f["deployment_id"], 0)
            if f["number_of_allocations"] > before:
                self._request(_Request(f["deployment_id"], "update", event.time, f["number_of_allocations"]))
            self._allocations[f["deployment_id"]] = f["number_of_allocations"]
        elif event.kind == "allocation_status" and f.get("state") == "fully_allocated":
            request = self._open.pop(f["deployment_id"], None)
            if request is not None:
                request.fully_allocated_at = event.time
        elif event.kind == "autoscaling_scale_up":
            for request in self._open.values():
                request.scale_ups += 1
        if event.kind in MARKED:
            self._marks.append((event.time, _label(event)))

    @property
    def marks(self) -> list[tuple[float, str]]:
        """Scale steps as (scenario time, label) for the report's plots."""
        return [(t - self.origin, label) for t, label in self._marks]

    def _request(self, request: _Request) -> None:
        self._allocations[request.deployment_id] = request.allocations
        self._open[request.deployment_id] = request
        self._requests.append(request)

    def summary(self, orchestrator: Orchestrator) -> dict[str, Any]:
        """`summary.json`'s `autoscaling`: the bill and, for every start or increase that
        needed a scale up, how long it took to be fully allocated (null: not by the end)."""
        stats = orchestrator.stats()
        waits = [
            {
                "deployment_id": r.deployment_id,
                "cause": r.cause,
                "at_s": round(r.at - self.origin, 6),
                "number_of_allocations": r.allocations,
                "scale_ups": r.scale_ups,
                "fully_allocated_after_s": None if r.fully_allocated_at is None else round(r.fully_allocated_at - r.at, 6),
            }
            for r in self._requests
            if r.scale_ups > 0
        ]
        return {
            "policy": stats["policy"],
            "scale_ups": stats["scale_ups"],
            "scale_downs": stats["scale_downs"],
            "node_hours": stats["node_hours"],
            "gb_hours": stats["gb_hours"],
            "cost": stats["cost"],
            "scaled_requests": waits,
        }


def _label(event: Event) -> str:
    f = event.fields
    text = MARKED[event.kind]
    if event.kind in ("autoscaling_scale_up", "autoscaling_scale_down"):
        target = f["target"]
        size = format_bytes(target["node_size"]) if target["nodes_per_zone"] else "0"
        return f"autoscaling: {text} to {target['nodes_per_zone']}×{size}"
    return f"autoscaling: {text}"
