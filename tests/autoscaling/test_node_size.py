"""The inverse memory math: node sizes for a native ML requirement (auto and percent mode)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cluster.ml_autoscaling.node_size import (
    NativeMemoryCapacity,
    approx_node_size,
    autoscaling_memory,
    jvm_size_from_native_memory,
    ml_memory_of_node_size,
)
from nodes.resources import GiB
from scheduler.memory import MiB


def test_above_the_16gb_knot_the_heap_is_a_tenth_of_the_rest() -> None:
    # native 20 GiB: 20680 MiB with the OS headroom; heap 6553.6 + (20680 - 9830.4) / 0.9 × 0.1
    # = 7759.1 -> 7756 MiB; the lower 7752 is not the heap of a 28432 MiB node (7756), so 7756
    assert jvm_size_from_native_memory(20 * GiB) == 7756 * MiB
    assert approx_node_size(20 * GiB, None, 30, True) == (20480 + 7756 + 200) * MiB


@given(st.integers(min_value=1 * MiB, max_value=200 * GiB))
def test_auto_mode_node_gives_back_at_least_the_native_memory(native: int) -> None:
    node = approx_node_size(native, None, 30, True)
    assert ml_memory_of_node_size(node, 30, True) >= native


@given(st.integers(min_value=1, max_value=200 * GiB), st.integers(min_value=5, max_value=90))
def test_percent_mode_node_gives_back_at_least_the_native_memory(native: int, percent: int) -> None:
    node = approx_node_size(native, None, percent, False)
    assert ml_memory_of_node_size(node, percent, False) >= native


def test_a_tier_bigger_than_the_largest_node_is_split_evenly_per_zone() -> None:
    # largest node ML memory 10 GiB + 30 MiB overhead: 25 GiB over 2 zones is 12.5 GiB per
    # zone -> 2 nodes per zone of 6.25 GiB each; percent mode 25 %: nodes of 4 × (6.25 GiB + 30 MiB)
    largest = 10 * GiB + 30 * MiB
    node, tier = autoscaling_memory(NativeMemoryCapacity(25 * GiB, 2 * GiB), 25, False, largest, 2)
    assert node == 4 * (2 * GiB + 30 * MiB)
    assert tier == 4 * (25 * GiB // 4 + 30 * MiB) * 2 * 2


def test_merge_keeps_the_jvm_only_when_one_side_is_zero() -> None:
    current = NativeMemoryCapacity(4 * GiB, 2 * GiB, 1 * GiB)
    assert NativeMemoryCapacity(0, 0).merge(current) == current
    assert current.merge(NativeMemoryCapacity(1 * GiB, 3 * GiB)) == NativeMemoryCapacity(5 * GiB, 3 * GiB, None)
