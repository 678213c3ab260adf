"""Rebalances read back from the event log: what caused each, what the planner cost, what
it moved, and when the deployments it touched were fully allocated again.

Everything here is derived from log entries (`rebalance`, the route events that follow it
with the same cause, `allocation_status`), so there is no second bookkeeping to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .events import Event

#: Route events through which a plan shows which deployments it changed.
ROUTE_CHANGES = ("route_added", "route_target", "route_removed")


@dataclass(slots=True)
class Rebalance:
    seq: int
    time: float
    cause: str
    mode: str
    planner_ms: float | None
    moved: int
    deployments: set[str] = field(default_factory=set)
    fully_allocated_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        after = None if self.fully_allocated_at is None else round(self.fully_allocated_at - self.time, 9)
        return {
            "seq": self.seq,
            "time": self.time,
            "cause": self.cause,
            "mode": self.mode,
            "planner_ms": self.planner_ms,
            "allocations_moved": self.moved,
            "deployments": sorted(self.deployments),
            "fully_allocated_at": self.fully_allocated_at,
            "fully_allocated_after": after,
        }


def rebalances(events: Iterable[Event]) -> list[Rebalance]:
    """Each `rebalance` event in order, with the deployments its plan changed and the first
    simulated time at which all of them (those still deployed) were fully allocated.

    A plan is applied within one simulated instant, so a rebalance collects its route changes
    until the clock moves or the next rebalance begins; then it is done or starts waiting."""
    found: list[Rebalance] = []
    status: dict[str, str] = {}
    collecting: Rebalance | None = None
    waiting: list[Rebalance] = []
    for event in events:
        if collecting is not None and (event.time > collecting.time or event.kind == "rebalance"):
            if not _reached(collecting, status, collecting.time):
                waiting.append(collecting)
            collecting = None
        if event.kind == "rebalance":
            collecting = Rebalance(
                event.seq, event.time, event.cause, event.fields.get("mode", ""),
                (event.measured or {}).get("planner_ms"), event.fields.get("moved", 0),
            )
            found.append(collecting)
        elif event.kind in ROUTE_CHANGES and collecting is not None and event.cause == collecting.cause:
            collecting.deployments.add(event.fields["deployment_id"])
        elif event.kind in ("allocation_status", "assignment_removed"):
            if event.kind == "allocation_status":
                status[event.fields["deployment_id"]] = event.fields["state"]
            else:
                status.pop(event.fields["deployment_id"], None)
            waiting = [r for r in waiting if not _reached(r, status, event.time)]
    if collecting is not None:
        _reached(collecting, status, collecting.time)
    return found


def _reached(record: Rebalance, status: dict[str, str], time: float) -> bool:
    """Whether every deployment the rebalance changed is fully allocated (or gone) now."""
    if all(status.get(d, "fully_allocated") == "fully_allocated" for d in record.deployments):
        record.fully_allocated_at = time
        return True
    return False
