"""What an ML node offers: Elasticsearch's ML memory limit and allocated-processor rules.

Pure arithmetic, no simpy: the cluster derives planner inputs and free capacity from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scheduler.memory import MiB

GiB = 1024 * MiB

#: Memory the ML native code itself takes, charged once per node.
NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES = 30 * MiB
#: Headroom auto mode leaves besides the JVM.
AUTO_MODE_OS_HEADROOM_BYTES = 200 * MiB
DEFAULT_MAX_MACHINE_MEMORY_PERCENT = 30


def auto_jvm_size(machine_memory: int) -> int:
    """Heap Elasticsearch picks for an ML node when none is configured.

    40 % of memory up to 16 GiB, then 10 % of the rest, capped at 31 GiB, rounded down to 4 MiB.
    """
    if machine_memory <= 16 * GiB:
        heap = 0.4 * machine_memory
    else:
        heap = 6.4 * GiB + 0.1 * (machine_memory - 16 * GiB)
    heap = min(heap, 31 * GiB)
    return int(heap) // (4 * MiB) * (4 * MiB)


def ml_memory_limit(
    machine_memory: int,
    jvm_size: int,
    max_machine_memory_percent: int = DEFAULT_MAX_MACHINE_MEMORY_PERCENT,
    use_auto_machine_memory_percent: bool = False,
) -> int:
    """Bytes the node lets ML native processes use (`allowedBytesForMl`)."""
    if use_auto_machine_memory_percent:
        if machine_memory - jvm_size <= AUTO_MODE_OS_HEADROOM_BYTES:
            return machine_memory // 100
        return int(min(machine_memory - jvm_size - AUTO_MODE_OS_HEADROOM_BYTES, 0.9 * machine_memory))
    return machine_memory * max_machine_memory_percent // 100


def allocated_cores(allocated_processors: float, allocated_processors_scale: float = 1) -> int:
    """Cores the planner may hand out: processors divided by the scale, rounded up."""
    return math.ceil(allocated_processors / allocated_processors_scale)


#: Processors one simulated node may have: more than any machine Elasticsearch runs on (its
#: `node.processors` cannot exceed the machine's), and it keeps the planner's sums exact.
MAX_ALLOCATED_PROCESSORS = 4096


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """The shape of one ML node as a user describes it.

    `jvm_size` defaults to Elasticsearch's automatic heap; `other_ml_memory_bytes` stands for
    anomaly-detection and data-frame-analytics jobs that share the node.
    """

    name: str
    machine_memory: int = 16 * GiB
    allocated_processors: float = 8
    jvm_size: int | None = None
    zone: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    other_ml_memory_bytes: int = 0
    node_id: str | None = None

    @property
    def effective_jvm_size(self) -> int:
        return self.jvm_size if self.jvm_size is not None else auto_jvm_size(self.machine_memory)

    def __post_init__(self) -> None:
        if self.machine_memory <= 0:
            raise ValueError(f"[machine_memory] must be positive, got [{self.machine_memory}]")
        if not 0 < self.allocated_processors <= MAX_ALLOCATED_PROCESSORS:
            raise ValueError(
                f"[allocated_processors] must be positive and at most {MAX_ALLOCATED_PROCESSORS}, "
                f"got [{self.allocated_processors}]"
            )
        if self.other_ml_memory_bytes < 0:
            raise ValueError("[other_ml_memory_bytes] must not be negative")
