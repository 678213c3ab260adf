"""What a run remembers between samples: read from the event log after every simulation
step that appended to it, so peaks, recoveries and time without allocations are exact
(not rounded to the sample interval) and the event log is copied out before it can
overflow its bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from cluster.cluster import Cluster
from cluster.events import Event


@dataclass
class Recovery:
    event: int
    at: float
    deployment_id: str
    after: float | None = None


class Recorder:
    def __init__(self, cluster: Cluster, events_out: TextIO | None = None) -> None:
        self.cluster = cluster
        self.events_out = events_out
        self._seen = 0
        self.rebalances = 0
        self.allocations_moved = 0
        #: Allocations per (deployment, node) as last planned or set.
        self._targets: dict[tuple[str, str], int] = {}
        self._zero_since: dict[str, float] = {}
        self.zero_allocation_s: dict[str, float] = {}
        self.peaks: dict[str, list[int]] = {}
        self.recoveries: list[Recovery] = []
        self._pending: list[Recovery] = []
        self.origin = 0.0

    def start(self, origin: float) -> None:
        """The scenario's time zero: time without allocations counts from here."""
        self.observe()
        self.origin = origin
        self._zero_since = {d: origin for d in self._zero_since}
        self.zero_allocation_s = dict.fromkeys(self.zero_allocation_s, 0.0)

    # -- observing ----------------------------------------------------------------------

    def step_hook(self) -> bool:
        """A `run_until` predicate that observes whatever the last step changed and never
        holds, so the clock steps every event up to its deadline."""
        if self.cluster.log.next_seq != self._seen:
            self.observe()
        return False

    def observe(self) -> None:
        for event in self.cluster.log.since(self._seen):
            self._read(event)
        self._seen = self.cluster.log.next_seq
        now = self.cluster.now
        state = self.cluster.state
        for deployment_id, assignment in state.assignments.items():
            self.zero_allocation_s.setdefault(deployment_id, 0.0)
            if assignment.allocation_status().allocation_count == 0:
                self._zero_since.setdefault(deployment_id, now)
            else:
                self._close_zero(deployment_id, now)
        for deployment_id in [d for d in self._zero_since if d not in state.assignments]:
            self._close_zero(deployment_id, now)
        for node_id, node in state.nodes.items():
            peak = self.peaks.setdefault(node.name, [0, 0])
            peak[0] = max(peak[0], state.model_memory_used(node_id))
            peak[1] = max(peak[1], state.usage(node_id).cores_used)
        if self._pending:
            self._pending = [r for r in self._pending if not self._recovered(r, now)]

    def _read(self, event: Event) -> None:
        if self.events_out is not None:
            self.events_out.write(event.to_json())
            self.events_out.write("\n")
        f = event.fields
        if event.kind == "rebalance":
            # allocations a plan takes off a node still holding them (a draining node's
            # included; a crashed node's routes are gone before the plan)
            self.rebalances += 1
            plan = f["assignments"]
            for key, before in list(self._targets.items()):
                if key[0] in plan:
                    after = plan[key[0]].get(key[1], 0)
                    self.allocations_moved += max(before - after, 0)
                    self._targets[key] = after
        elif event.kind == "route_added":
            self._targets[(f["deployment_id"], f["node_id"])] = f["allocations"]
        elif event.kind == "route_target":
            self._targets[(f["deployment_id"], f["node_id"])] = f["target"]
        elif event.kind == "route_removed":
            self._targets.pop((f["deployment_id"], f["node_id"]), None)

    def _close_zero(self, deployment_id: str, now: float) -> None:
        since = self._zero_since.pop(deployment_id, None)
        if since is not None:
            self.zero_allocation_s[deployment_id] = self.zero_allocation_s.get(deployment_id, 0.0) + now - since

    # -- recoveries ---------------------------------------------------------------------

    def timeline_event(self, index: int) -> None:
        """A timeline event just happened: watch every deployment until fully allocated."""
        self.observe()
        now = self.cluster.now
        for deployment_id, assignment in sorted(self.cluster.state.assignments.items()):
            if assignment.stopping:
                continue
            recovery = Recovery(index, now, deployment_id)
            self.recoveries.append(recovery)
            if not self._recovered(recovery, now):
                self._pending.append(recovery)

    def _recovered(self, recovery: Recovery, now: float) -> bool:
        """Records the recovery if it happened; a deployment that went away never recovers."""
        assignment = self.cluster.state.assignments.get(recovery.deployment_id)
        if assignment is None or assignment.stopping:
            return True
        if assignment.allocation_status().state == "fully_allocated":
            recovery.after = now - recovery.at
            return True
        return False

    def finish(self) -> None:
        self.observe()
        now = self.cluster.now
        for deployment_id in list(self._zero_since):
            self._close_zero(deployment_id, now)

    def recoveries_of(self, deployment_id: str) -> list[dict[str, Any]]:
        return [
            {"event": r.event, "at_s": _r(r.at - self.origin), "fully_allocated_after_s": None if r.after is None else _r(r.after)}
            for r in self.recoveries
            if r.deployment_id == deployment_id
        ]


def _r(value: float) -> float:
    return round(value, 6)
