"""One scenario run: a `Cluster` in the experiment clock, the timeline's actions at their
simulated times, metrics sampled every `sample_every`, then summary, time series, event
log and report.

With `warm_up` (the default) the scenario's time zero is the first 10 s tick of the
cluster's clock after the initial deployments have settled (no route still loading or
resizing; at most `WARM_UP_LIMIT_SECONDS`), and traffic starts then, so the timeline and the measurements
begin from a steady cluster. Scenario times (timeline, samples, summary) count from time
zero; the event log keeps the cluster's own clock, which also counts the warm-up.

Simulated time moves in `Cluster.run_until` steps with the recorder as its predicate, so
whatever a step changes is seen at the simulated instant it happened.

Traffic is served in windows of up to `SERVING_WINDOW_SECONDS` (and at every control
event), not at every sample: a sample records the cluster's state at its instant, and its
request counts, latencies and queue depth are filled in from the requests' arrival and
leave times once serving has passed it (`cluster.interval_series`).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO

from cluster.adaptive import TICK_SECONDS
from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.interval_series import Interval, IntervalSeries
from cluster.metrics import DeploymentSample, RequestCounts, describe_counts, sample_deployments, sample_nodes
from cluster.serving import PROFILE_METADATA_KEY
from cluster.traffic import profile_from_json
from nodes.inference_queue import InferenceQueue

from . import slo
from .actions import ActionContext
from .autoscaling import AutoscalingTracker
from .inprocess import InProcessClient
from .progress import Progress
from .recorder import Recorder
from .schema import Scenario, load_scenario
from .summary import Summary

WARM_UP_LIMIT_SECONDS = 600.0
#: Longest stretch of traffic served in one window when nothing needs the queues sooner:
#: the fixed cost of serving a route's batch is paid this much less often than per tick.
SERVING_WINDOW_SECONDS = 1200.0


def run_scenario(
    path_or_dict: str | Path | Mapping[str, Any],
    seed: int | None = None,
    out_dir: str | Path | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    quiet: bool = True,
) -> Summary:
    """Load, run and (with `out_dir`) write a scenario; ScenarioError if it is invalid.
    `seed` replaces the file's; `quiet=False` shows progress on a terminal's stderr."""
    scenario = load_scenario(path_or_dict, overrides)
    return ScenarioRun(scenario, seed, Path(out_dir) if out_dir is not None else None, quiet).run()


class ScenarioRun:
    """One run of a checked scenario; `run()` plays it and returns the summary (the
    cluster stays inspectable afterwards)."""

    def __init__(
        self, scenario: Scenario, seed: int | None = None, out_dir: Path | None = None, quiet: bool = True,
        report: bool = True,
    ) -> None:
        self.scenario = scenario
        #: Whether `out_dir` also gets report.html (a sweep skips it: matplotlib costs more than a short run).
        self.report = report
        self.seed = scenario.seed if seed is None else seed
        self.out_dir = out_dir
        self.progress = Progress(scenario.duration, enabled=not quiet)
        self.cluster = Cluster(scenario.settings, seed=self.seed, clock="experiment")
        self.cluster.serving.window_seconds = SERVING_WINDOW_SECONDS
        self.series = IntervalSeries(self.cluster.serving)
        #: Samples whose requests are not all served yet: (time, span, `_columns` then).
        self._open: deque[tuple[float, float, dict[str, dict[str, int]]]] = deque()
        self._client: InProcessClient | None = None
        self.outcomes: list[dict[str, Any]] = []
        self.start_errors: dict[str, str] = {}
        self.timeseries: list[dict[str, Any]] = []
        self.node_series: list[dict[str, Any]] = []
        self._last_sample = 0.0
        self.autoscaling = AutoscalingTracker()
        #: The event log's next sequence number when the state below was read: deployments'
        #: allocations, routes and queues and nodes' usage change only with logged events.
        self._state_seq = -1
        self._queues: dict[str, tuple[InferenceQueue, ...]] = {}
        #: Per deployment, its row's allocation and route columns.
        self._columns: dict[str, dict[str, int]] = {}
        self._nodes: dict[str, Any] = {}
        #: The cluster's time at the scenario's time zero (after the warm-up).
        self.origin = 0.0

    def run(self) -> Summary:
        with contextlib.ExitStack() as stack:
            events: TextIO | None = None
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                events = stack.enter_context((self.out_dir / "events.jsonl").open("w", encoding="utf-8"))
            self.recorder = Recorder(self.cluster, events)
            self.recorder.listeners.append(self.autoscaling)
            self._build()
            self._play()
            self.recorder.finish()
            self.progress.close()
            if self._client is not None:
                self._client.close()
        summary = self._summary()
        if self.out_dir is not None:
            summary.write(self.out_dir)
            # what was run, overrides applied: a record for comparing runs of a sweep
            (self.out_dir / "scenario.json").write_text(
                json.dumps(self.scenario.data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
            if self.report:
                from .report import write_report  # matplotlib only when a report is written

                write_report(self.out_dir / "report.html", self.scenario, summary)
        return summary

    # -- time zero ----------------------------------------------------------------------

    def _build(self) -> None:
        cluster, scenario = self.cluster, self.scenario
        for group in scenario.nodes:
            for spec in group.specs(node.name for node in cluster.state.nodes.values()):
                cluster.membership.join(spec)
        if scenario.autoscaling is not None:
            cluster.enable_autoscaling(scenario.autoscaling)
        for model in scenario.models:
            metadata = {PROFILE_METADATA_KEY: dict(model.inference)} if model.inference is not None else {}
            cluster.add_pytorch_model(model.model_id, model.model_bytes, task_type=model.task_type, **metadata)
        for request in scenario.deployments:
            try:
                cluster.deployments.start(request)
            except MlError as exc:
                deployment_id = request.deployment_id or request.model_id
                self.start_errors[deployment_id] = exc.reason
                cluster.log.append(
                    "scenario_start_refused", "scenario", deployment_id=deployment_id, status=exc.status, reason=exc.reason
                )
        if scenario.warm_up:
            cluster.run_until(lambda: settled(cluster), timeout=WARM_UP_LIMIT_SECONDS)
            # on a tick of the cluster's 10 s clock, so samples fall on the windows it cuts
            cluster.advance(math.ceil(cluster.now / TICK_SECONDS) * TICK_SECONDS - cluster.now)
        self.origin = cluster.now
        self.autoscaling.origin = self.origin
        self.recorder.start(self.origin)
        for traffic in scenario.traffic:
            if traffic.deployment_id in cluster.state.assignments:
                cluster.add_traffic(traffic.deployment_id, profile_from_json(dict(traffic.profile), cluster.now))
        self.recorder.observe()

    # -- the timeline -------------------------------------------------------------------

    def _play(self) -> None:
        scenario = self.scenario
        step = scenario.sample_every
        samples = [k * step for k in range(int(math.floor(scenario.duration / step + 1e-9)) + 1)]
        if samples[-1] < scenario.duration:
            samples.append(scenario.duration)
        pending = list(scenario.timeline)
        for t in samples:
            while pending and pending[0].at <= t:
                event = pending.pop(0)
                self._run_to(self.origin + event.at)
                self._apply(event)
            self._run_to(self.origin + t)
            self._sample(t)
            self.progress.update(t)
        for event in pending:  # after the end (a shortened run): recorded, not run
            self.outcomes.append({"event": event.index, "at_s": round(event.at, 6), "do": event.do, "skipped": "after the end of the run"})

    def _run_to(self, t: float) -> None:
        if t > self.cluster.now:
            self.cluster.run_until(self.recorder.step_hook, timeout=t - self.cluster.now)
        self.recorder.step_hook()

    def _apply(self, event: Any) -> None:
        outcome: dict[str, Any] = {"event": event.index, "at_s": round(event.at, 6), "do": event.do}
        try:
            details = event.action.apply(ActionContext(self.cluster, self.client))
            outcome.update(ok=True, **details)
        except MlError as exc:
            outcome.update(ok=False, status=exc.status, error=exc.reason)
        self.cluster.log.append("scenario_action", "scenario", **{k: v for k, v in outcome.items() if k != "at_s"})
        self.outcomes.append(outcome)
        self.recorder.timeline_event(event.index)

    @property
    def client(self) -> InProcessClient:
        if self._client is None:
            self._client = InProcessClient(self.cluster)
        return self._client

    # -- sampling -----------------------------------------------------------------------

    def _sample(self, t: float) -> None:
        cluster, serving = self.cluster, self.cluster.serving
        if self._state_seq != cluster.log.next_seq:
            self._state_seq = cluster.log.next_seq
            deployments = sample_deployments(cluster)
            self._queues = {d: sample.queues for d, sample in deployments.items()}
            self._columns = {d: _state_columns(sample) for d, sample in deployments.items()}
            self._nodes = sample_nodes(cluster)
        self._open.append((t, t - self._last_sample, self._columns))
        self._last_sample = t
        self.series.mark(cluster.now, self._queues)
        if t >= self.scenario.duration or serving.window_due():
            serving.sync()
        for _, intervals in self.series.close(serving.synced_at):
            self._add_rows(*self._open.popleft(), intervals)
        time_s = round(t, 6)
        for name, node in self._nodes.items():
            self.node_series.append({
                "time_s": time_s, "node": name, "memory_used_bytes": node.memory_used,
                "memory_limit_bytes": node.memory_limit, "cores_used": node.cores_used, "cores": node.cores,
            })

    def _add_rows(self, t: float, span: float, columns: dict[str, dict[str, int]], intervals: dict[str, Interval]) -> None:
        time_s = round(t, 6)
        for deployment_id, counts in intervals.items():
            self.timeseries.append({
                "time_s": time_s, "deployment_id": deployment_id, **(columns.get(deployment_id) or _NO_STATE),
                "request_rate": round(counts.offered / span, 6) if span > 0 else 0.0,
                "completed": counts.completed, "rejected": counts.rejected, "timed_out": counts.timed_out,
                "unrouted": counts.unrouted, "p50_ms": counts.p50_ms, "p99_ms": counts.p99_ms,
                "queue_depth": counts.queue_depth,
            })

    # -- the summary --------------------------------------------------------------------

    def _summary(self) -> Summary:
        scenario, recorder = self.scenario, self.recorder
        totals = self.series.totals
        ids = list(dict.fromkeys([*scenario.deployment_ids(), *sorted(recorder.zero_allocation_s), *sorted(totals)]))
        deployments: dict[str, Any] = {}
        for deployment_id in ids:
            entry = describe_counts(totals.get(deployment_id, RequestCounts()))
            entry["zero_allocation_s"] = round(recorder.zero_allocation_s.get(deployment_id, scenario.duration), 6)
            entry["recoveries"] = recorder.recoveries_of(deployment_id)
            if deployment_id in self.start_errors:
                entry["start_error"] = self.start_errors[deployment_id]
            deployments[deployment_id] = entry
        checks = slo.evaluate(scenario.slo, deployments)
        data = {
            "scenario": scenario.name,
            "seed": self.seed,
            "duration_s": scenario.duration,
            "warm_up_s": round(self.origin, 6),
            "ok": all(c["ok"] for c in checks),
            "deployments": deployments,
            "nodes": {
                name: {"peak_memory_bytes": peak[0], "peak_cores_used": peak[1]}
                for name, peak in recorder.peaks.items()
            },
            "rebalances": recorder.rebalances,
            "allocations_moved": recorder.allocations_moved,
            "timeline": self.outcomes,
            "slo": checks,
        }
        if self.cluster.orchestrator is not None:
            data["autoscaling"] = self.autoscaling.summary(self.cluster.orchestrator)
        marks = [(e.at, f"{e.index}: {e.do}") for e in scenario.timeline if e.at <= scenario.duration]
        marks += self.autoscaling.marks
        return Summary(data, self.timeseries, self.node_series, marks)


_ROUTE_COLUMNS = tuple((f"routes_{s}", s) for s in ("starting", "started", "stopping", "failed"))


def _state_columns(sample: DeploymentSample) -> dict[str, int]:
    """A time series row's allocation and route columns."""
    return {
        "target_allocations": sample.target_allocations, "started_allocations": sample.started_allocations,
        **{column: sample.routes.get(state, 0) for column, state in _ROUTE_COLUMNS},
    }


#: The columns of a deployment that has requests in an interval but is gone at its end.
_NO_STATE = {"target_allocations": 0, "started_allocations": 0, **{column: 0 for column, _ in _ROUTE_COLUMNS}}


def settled(cluster: Cluster) -> bool:
    """No deployment has a route still loading or a started route still resizing."""
    for assignment in cluster.state.assignments.values():
        for route in assignment.routes.values():
            if route.routing_state == "starting" or (
                route.routing_state == "started" and route.current_allocations != route.target_allocations
            ):
                return False
    return True
