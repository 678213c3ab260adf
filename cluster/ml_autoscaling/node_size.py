"""From ML native memory back to whole-node memory: Elasticsearch's `NativeMemoryCapacity`
and the node-size half of `NativeMemoryCalculator`.

Pure integer arithmetic. The forward direction (node size -> ML memory, the automatic JVM
heap) is `nodes.resources`; this module only adds the inverse the decider needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nodes.resources import (
    AUTO_MODE_OS_HEADROOM_BYTES,
    NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES,
    GiB,
    auto_jvm_size,
    ml_memory_limit,
)
from scheduler.memory import MiB

OVERHEAD = NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES
JAVA_LONG_MAX = 2**63 - 1
#: Smallest node auto mode sizes for, and the heap that implies.
MINIMUM_AUTOMATIC_NODE_SIZE = 512 * MiB
MINIMUM_AUTOMATIC_JVM_SIZE = auto_jvm_size(MINIMUM_AUTOMATIC_NODE_SIZE)
STATIC_JVM_UPPER_THRESHOLD = 31 * GiB
JVM_SIZE_KNOT_POINT = 16 * GiB
FOUR_MB = 4 * MiB


@dataclass(frozen=True, slots=True)
class NativeMemoryCapacity:
    """ML native memory wanted for the tier (sum) and the largest node, both excluding the
    per-node native code overhead; `jvm_size` only when it is known for the sizes asked."""

    tier: int
    node: int
    jvm_size: int | None = None

    def is_zero(self) -> bool:
        return self.tier == 0 and self.node == 0

    def merge(self, other: NativeMemoryCapacity) -> NativeMemoryCapacity:
        """Sum of tiers, max of nodes; a zero side is neutral, otherwise the JVM size is
        no longer known."""
        if other.is_zero():
            return self
        if self.is_zero():
            return other
        return NativeMemoryCapacity(self.tier + other.tier, max(self.node, other.node))


ZERO = NativeMemoryCapacity(0, 0)


def ml_memory_of_node_size(machine_memory: int, max_memory_percent: int, use_auto: bool) -> int:
    """`allowedBytesForMl` of a node of that size with its automatic heap."""
    return ml_memory_limit(machine_memory, auto_jvm_size(machine_memory), max_memory_percent, use_auto)


def largest_node_ml_memory(max_ml_node_size: int, max_memory_percent: int, use_auto: bool) -> int:
    """ML memory of the largest node autoscaling may create (unbounded when the size is 0)."""
    if max_ml_node_size <= 0:
        return JAVA_LONG_MAX
    return ml_memory_of_node_size(max_ml_node_size, max_memory_percent, use_auto)


def jvm_size_from_native_memory(native: int) -> int:
    """The automatic heap of the smallest node whose ML memory is `native` (auto mode)."""
    native_and_overhead = native + AUTO_MODE_OS_HEADROOM_BYTES
    if native_and_overhead <= JVM_SIZE_KNOT_POINT - auto_jvm_size(JVM_SIZE_KNOT_POINT):
        higher = native_and_overhead * 2 // 3 // FOUR_MB * FOUR_MB
    else:
        above = native_and_overhead - JVM_SIZE_KNOT_POINT * 0.6
        higher = int(JVM_SIZE_KNOT_POINT * 0.4 + above / 0.9 * 0.1) // FOUR_MB * FOUR_MB
    if higher > FOUR_MB:
        lower = higher - FOUR_MB
        if auto_jvm_size(native_and_overhead + lower) == lower:
            return max(MINIMUM_AUTOMATIC_JVM_SIZE, min(lower, STATIC_JVM_UPPER_THRESHOLD))
    return max(MINIMUM_AUTOMATIC_JVM_SIZE, min(higher, STATIC_JVM_UPPER_THRESHOLD))


def approx_node_size(native: int, jvm_size: int | None, max_memory_percent: int, use_auto: bool) -> int:
    """`calculateApproxNecessaryNodeSize`: node memory giving `native` ML memory (overhead
    included), rounded up so the forward formula gives at least `native` back."""
    if native == 0:
        return 0
    if use_auto:
        jvm = jvm_size if jvm_size is not None else jvm_size_from_native_memory(native)
        return max(native + jvm + AUTO_MODE_OS_HEADROOM_BYTES, MINIMUM_AUTOMATIC_NODE_SIZE)
    return math.ceil((100.0 / max_memory_percent) * native)


def autoscaling_memory(
    capacity: NativeMemoryCapacity,
    max_memory_percent: int,
    use_auto: bool,
    largest_node_ml: int,
    zones: int,
) -> tuple[int, int]:
    """(node bytes, tier bytes) of whole-node memory for a native requirement.

    Nodes per zone are as many of the largest node as the per-zone share needs; the tier is
    that many identical nodes, each sized for its share, in every zone."""
    if capacity.tier <= 0 or capacity.node <= 0:
        return 0, 0
    if largest_node_ml <= OVERHEAD:
        largest_node_ml = OVERHEAD + 1
    elif largest_node_ml > JAVA_LONG_MAX // 2:
        largest_node_ml = JAVA_LONG_MAX // 2
    largest_excluding = largest_node_ml - OVERHEAD
    per_zone = (capacity.tier + zones - 1) // zones if zones > 1 else capacity.tier
    nodes_per_zone = (per_zone + largest_excluding - 1) // largest_excluding
    per_node = (per_zone + nodes_per_zone - 1) // nodes_per_zone
    node_size = approx_node_size(capacity.node + OVERHEAD, capacity.jvm_size, max_memory_percent, use_auto)
    tier_node_size = approx_node_size(per_node + OVERHEAD, capacity.jvm_size, max_memory_percent, use_auto)
    tier_size = tier_node_size * nodes_per_zone * max(1, zones)
    return node_size, max(tier_size, node_size)
