"""Elasticsearch's `ml` autoscaling decider: memory and processor deciders over a snapshot
of the ML tier, answering what the tier and its largest node must have.

Pure: the inputs are plain views of nodes and deployments (built by `service.py`), time is
epoch milliseconds passed in, and the only state is the `ScaleTimer` the caller keeps.
The rules and their upstream files are listed in cluster/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .node_size import (
    OVERHEAD,
    ZERO,
    NativeMemoryCapacity,
    autoscaling_memory,
    largest_node_ml_memory,
)

#: Memory asked for when nothing waiting says how much it needs (a default job's limit).
DEFAULT_MODEL_MEMORY_LIMIT = 1024 * 1024 * 1024
#: `xpack.ml.max_open_jobs`: native inference does not count against it.
MAX_OPEN_JOBS_PER_NODE = 512
NO_SCALE_DOWN_POSSIBLE = -1


# -- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeView:
    """One ML node as the decider sees it. `other_ml_memory` stands for anomaly-detection
    or analytics jobs assigned there (one job of that size)."""

    node_id: str
    name: str
    machine_memory: int
    jvm_size: int
    ml_memory: int
    processors: float
    other_ml_memory: int = 0


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """One trained-model assignment. `memory` is its task-parameter estimate (all its
    allocations); `memory_nodes` the nodes whose route consumes memory."""

    deployment_id: str
    state: str
    routes: int
    number_of_allocations: int
    threads_per_allocation: int
    memory: int
    memory_nodes: tuple[str, ...]
    satisfied: bool
    fully_allocated: bool


@dataclass(frozen=True, slots=True)
class DeciderSettings:
    """`xpack.ml.*` settings the decider reads."""

    max_machine_memory_percent: int = 30
    use_auto_machine_memory_percent: bool = False
    max_ml_node_size: int = 0


@dataclass(frozen=True, slots=True)
class DeciderConfig:
    """The policy's `ml` decider settings; `raw` is what was put, rendered back as given."""

    num_anomaly_jobs_in_queue: int = 0
    num_analytics_jobs_in_queue: int = 0
    down_scale_delay_ms: int = 3_600_000
    down_scale_delay_text: str = "1h"
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TierView:
    nodes: tuple[NodeView, ...]
    deployments: tuple[DeploymentView, ...]
    zones: int = 1


# -- outputs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resources:
    storage: int | None
    memory: int | None
    processors: float | None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.storage is not None:
            body["storage"] = self.storage
        if self.memory is not None:
            body["memory"] = self.memory
        if self.processors is not None:
            body["processors"] = round(float(self.processors), 5)
        return body


@dataclass(frozen=True, slots=True)
class Capacity:
    total: Resources
    node: Resources

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node.to_dict(), "total": self.total.to_dict()}


ZERO_CAPACITY = Capacity(Resources(0, 0, 0.0), Resources(0, 0, 0.0))


@dataclass(frozen=True, slots=True)
class DeciderResult:
    required: Capacity | None
    reason_summary: str
    reason_details: dict[str, Any]


class ScaleTimer:
    """When scaling was last asked for and since when a scale down has been possible."""

    def __init__(self) -> None:
        self.previous_ms = 0
        self.last_ms = 0
        self.scale_down_detected = NO_SCALE_DOWN_POSSIBLE

    def mark_scale(self, now_ms: int) -> None:
        self.previous_ms, self.last_ms = self.last_ms, now_ms

    def mark_down_scale_and_get_ms_left(self, config: DeciderConfig, now_ms: int) -> int:
        if self.scale_down_detected == NO_SCALE_DOWN_POSSIBLE:
            self.scale_down_detected = now_ms
        return config.down_scale_delay_ms - (now_ms - self.scale_down_detected)

    def reset(self) -> None:
        self.scale_down_detected = NO_SCALE_DOWN_POSSIBLE


# -- the service ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Memory:
    """The memory decider's answer: (node, tier) bytes, or None when undetermined."""

    node: int | None
    tier: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Processors:
    node: float
    tier: float
    reason: str


def decide(
    tier: TierView,
    config: DeciderConfig,
    settings: DeciderSettings,
    timer: ScaleTimer,
    current: Capacity,
    now_ms: int,
) -> DeciderResult:
    """`MlAutoscalingDeciderService.scale`: `current` is the policy's current capacity
    (whole-node memory and processors of its nodes)."""
    timer.mark_scale(now_ms)
    decider = _Decider(tier, config, settings, timer, current, now_ms)
    return decider.scale()


class _Decider:
    def __init__(
        self,
        tier: TierView,
        config: DeciderConfig,
        settings: DeciderSettings,
        timer: ScaleTimer,
        current: Capacity,
        now_ms: int,
    ) -> None:
        self.tier = tier
        self.config = config
        self.settings = settings
        self.timer = timer
        self.current = current
        self.now_ms = now_ms
        self.largest_ml = largest_node_ml_memory(
            settings.max_ml_node_size, settings.max_machine_memory_percent, settings.use_auto_machine_memory_percent
        )
        self.waiting = [d for d in tier.deployments if d.state == "starting" and d.routes == 0]
        self.current_scale = self._current_scale()

    # -- the service ------------------------------------------------------------------

    def scale(self) -> DeciderResult:
        perceived_node, perceived_tier = self._capacity(self.current_scale)
        processors = self._current_processors()
        perceived = Capacity(Resources(None, perceived_tier, processors.tier), Resources(None, perceived_node, processors.node))
        if self._is_empty():
            return self._downscale_to_zero(perceived)
        memory = self._memory()
        if memory.node is None or memory.tier is None:
            return self._result(None, f"[memory_decider] {memory.reason}", perceived)
        cpu = self._processors()
        required = Capacity(Resources(None, memory.tier, cpu.tier), Resources(None, memory.node, cpu.node))
        return self._result(required, f"[memory_decider] {memory.reason}; [processor_decider] {cpu.reason}", perceived)

    def _downscale_to_zero(self, perceived: Capacity) -> DeciderResult:
        if self.current_scale.is_zero():
            return self._result(self.current, "Passing currently perceived capacity as no scaling changes are necessary", perceived)
        left = self.timer.mark_down_scale_and_get_ms_left(self.config, self.now_ms)
        if left > 0:
            return self._result(self.current, self._delay_reason(left), perceived)
        return self._result(
            ZERO_CAPACITY, "Requesting scale down as tier and/or node size could be smaller", perceived, ZERO_CAPACITY
        )

    def _result(
        self, required: Capacity | None, reason: str, perceived: Capacity, details_required: Capacity | None = None
    ) -> DeciderResult:
        details: dict[str, Any] = {
            "waiting_analytics_jobs": [],
            "waiting_anomaly_jobs": [],
            "waiting_models": [d.deployment_id for d in self.waiting],
            "configuration": dict(self.config.raw),
            "perceived_current_capacity": perceived.to_dict(),
        }
        if details_required is not None:
            details["required_capacity"] = details_required.to_dict()
        details["reason"] = reason
        return DeciderResult(required, reason, details)

    def _delay_reason(self, left_ms: int) -> str:
        detected = datetime.fromtimestamp(self.timer.scale_down_detected / 1000, tz=timezone.utc)
        return (
            "Passing currently perceived capacity as down scale delay has not been satisfied; configured delay "
            f"[{self.config.down_scale_delay_text}] last detected scale down event "
            f"[{detected.strftime('%Y-%m-%dT%H:%M:%S.')}{detected.microsecond // 1000:03d}Z]. "
            f"Will request scale down in approximately [{left_ms}ms]"
        )

    def _is_empty(self) -> bool:
        no_jobs = all(n.other_ml_memory == 0 for n in self.tier.nodes)
        return no_jobs and all(d.number_of_allocations == 0 for d in self.tier.deployments)

    # -- memory -------------------------------------------------------------------------

    def _current_scale(self) -> NativeMemoryCapacity:
        ml = [max(n.ml_memory - OVERHEAD, 0) for n in self.tier.nodes]
        jvm = max((n.jvm_size for n in self.tier.nodes), default=None)
        return NativeMemoryCapacity(sum(ml), max(ml, default=0), jvm)

    def _capacity(self, native: NativeMemoryCapacity) -> tuple[int, int]:
        s = self.settings
        return autoscaling_memory(
            native, s.max_machine_memory_percent, s.use_auto_machine_memory_percent, self.largest_ml, self.tier.zones
        )

    def _pass_current(self, reason: str) -> _Memory:
        return _Memory(self.current.node.memory, self.current.total.memory, reason)

    def _memory(self) -> _Memory:
        """`MlMemoryAutoscalingDecider.scale` for deployments and the other jobs on nodes."""
        if not self.tier.nodes and self.waiting:
            return self._scale_up_from_zero()
        loads = [_NodeLoad.of(n, self.tier.deployments) for n in self.tier.nodes]
        scale_up = self._check_for_scale_up(loads)
        if scale_up is not None:
            self.timer.reset()
            return scale_up
        partial = [d for d in self.tier.deployments if not d.fully_allocated]
        if partial:
            self.timer.reset()
            return self._pass_current(
                "Passing currently perceived capacity as there are [0] model snapshot upgrades, [0] analytics and "
                f"[0] anomaly detection jobs in the queue, [{len(partial)}] trained models not fully-allocated, but "
                "the number in the queue is less than the configured maximum allowed or the queued jobs will "
                "eventually be assignable at the current size."
            )
        largest_job = max(
            [n.other_ml_memory for n in self.tier.nodes] + [d.memory for d in self.tier.deployments], default=0
        )
        if largest_job == 0:
            return _Memory(
                None,
                None,
                "Passing currently perceived capacity as there are running analytics and anomaly jobs or deployed "
                "models, but their assignment explanations are unexpected or their memory usage estimates are inaccurate.",
            )
        scale_down = self._check_for_scale_down(loads, largest_job)
        if scale_down is not None:
            left = self.timer.mark_down_scale_and_get_ms_left(self.config, self.now_ms)
            if left <= 0:
                return scale_down
            return self._pass_current(self._delay_reason(left))
        return self._pass_current("Passing currently perceived capacity as no scaling changes are necessary")

    def _scale_up_from_zero(self) -> _Memory:
        sizes = sorted((d.memory for d in self.waiting), reverse=True)
        capacity = NativeMemoryCapacity(sum(sizes), sizes[0])
        if capacity.node == 0:
            capacity = capacity.merge(NativeMemoryCapacity(DEFAULT_MODEL_MEMORY_LIMIT, DEFAULT_MODEL_MEMORY_LIMIT))
        node, tier = self._capacity(capacity)
        return _Memory(
            node,
            tier,
            "requesting scale up as number of jobs in queues exceeded configured limit and there are no machine "
            "learning nodes",
        )

    def _check_for_scale_up(self, loads: list[_NodeLoad]) -> _Memory | None:
        if not self.waiting:
            return None
        unassignable, adjusted = _determine_unassignable([d.memory for d in self.waiting], loads)
        if unassignable.is_zero():
            return None
        max_free = max((load.free_excluding_overhead for load in adjusted), default=0)
        scale = self.current_scale
        if max_free > scale.node or max_free > scale.tier:
            max_free = 0
        updated = NativeMemoryCapacity(-max_free, 0).merge(scale).merge(unassignable)
        node, tier = self._capacity(updated)
        return _Memory(
            node,
            tier,
            "requesting scale up as number of jobs in queues exceeded configured limit or there is at least one "
            "trained model waiting for assignment and current capacity is not large enough for waiting jobs or models",
        )

    def _check_for_scale_down(self, loads: list[_NodeLoad], largest_job: int) -> _Memory | None:
        necessary = sum(load.assigned_excluding_overhead for load in loads)
        scale = self.current_scale
        if not (necessary < scale.tier or largest_job < scale.node):
            return None
        node, tier = self._capacity(NativeMemoryCapacity(min(necessary, scale.tier), min(largest_job, scale.node)))
        # ensureScaleDown: never more than the current capacity
        node = min(node, self.current.node.memory or 0)
        tier = min(tier, self.current.total.memory or 0)
        if self._more_than_half_cpu():
            return None
        return _Memory(node, tier, "Requesting scale down as tier and/or node size could be smaller")

    def _more_than_half_cpu(self) -> bool:
        required = sum(d.number_of_allocations * d.threads_per_allocation for d in self.tier.deployments)
        available = sum(math.ceil(n.processors) for n in self.tier.nodes)
        return required * 2 > available

    # -- processors ---------------------------------------------------------------------

    def _current_processors(self) -> _Processors:
        node = max((n.processors for n in self.tier.nodes), default=0.0)
        return _Processors(node, sum(n.processors for n in self.tier.nodes), "")

    def _required_processors(self) -> _Processors:
        threads = max((d.threads_per_allocation for d in self.tier.deployments), default=0)
        count = sum(d.number_of_allocations * d.threads_per_allocation for d in self.tier.deployments)
        if self.tier.zones > 1:
            count = (count - 1) // self.tier.zones + 1
        count = max(count, threads)
        return _Processors(float(threads), float(count), "")

    def _processors(self) -> _Processors:
        """`MlProcessorAutoscalingDecider.scale`."""
        if any(not d.satisfied for d in self.tier.deployments):
            self.timer.reset()
            required = self._required_processors()
            return _Processors(required.node, required.tier, "requesting scale up as there are unsatisfied deployments")
        current = self._current_processors()
        required = self._required_processors()
        if math.ceil(required.tier) == math.ceil(current.tier):
            return _Processors(current.node, current.tier, "passing currently perceived capacity as it is fully used")
        if self._more_than_half_cpu():
            return _Processors(
                current.node,
                current.tier,
                "not scaling down as model assignments require more than half of the ML tier's allocated processors",
            )
        left = self.timer.mark_down_scale_and_get_ms_left(self.config, self.now_ms)
        if left <= 0:
            return _Processors(required.node, required.tier, "requesting scale down as tier and/or node size could be smaller")
        return _Processors(current.node, current.tier, self._delay_reason(left))


@dataclass(slots=True)
class _NodeLoad:
    """`NodeLoad`: a node's ML memory and what its jobs and models take of it."""

    max_memory: int
    jobs: int
    assigned: int
    overhead: int

    @classmethod
    def of(cls, node: NodeView, deployments: tuple[DeploymentView, ...]) -> _NodeLoad:
        models = [d.memory for d in deployments if node.node_id in d.memory_nodes]
        jobs = len(models) + (1 if node.other_ml_memory > 0 else 0)
        return cls(node.ml_memory, jobs, sum(models) + node.other_ml_memory, OVERHEAD if jobs else 0)

    @property
    def free(self) -> int:
        return max(self.max_memory - self.overhead - self.assigned, 0)

    @property
    def free_excluding_overhead(self) -> int:
        return max(self.max_memory - self.assigned - OVERHEAD, 0)

    @property
    def assigned_excluding_overhead(self) -> int:
        return self.assigned


def _determine_unassignable(sizes: list[int], loads: list[_NodeLoad]) -> tuple[NativeMemoryCapacity, list[_NodeLoad]]:
    """Place waiting models largest first on the node with the most free memory; what does
    not fit there fits nowhere. Returns what is left (sum, largest) and the new loads."""
    adjusted = [_NodeLoad(x.max_memory, x.jobs, x.assigned, x.overhead) for x in loads]
    left: list[int] = []
    for size in sorted(sizes, reverse=True):
        best = max(adjusted, key=lambda x: x.free, default=None)
        extra = OVERHEAD if best is not None and best.jobs == 0 else 0
        if best is not None and best.free >= size + extra:
            best.jobs += 1
            best.overhead += extra
            best.assigned += size
        else:
            left.append(size)
    if not left:
        return ZERO, adjusted
    return NativeMemoryCapacity(sum(left), left[0]), adjusted
