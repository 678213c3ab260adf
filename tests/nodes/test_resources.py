import pytest

from nodes.resources import (
    GiB,
    NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES,
    NodeSpec,
    allocated_cores,
    auto_jvm_size,
    ml_memory_limit,
)
from scheduler.memory import MiB


def test_percent_mode_takes_the_configured_share_of_machine_memory():
    assert ml_memory_limit(16 * GiB, 4 * GiB) == 16 * GiB * 30 // 100
    assert ml_memory_limit(16 * GiB, 4 * GiB, max_machine_memory_percent=50) == 8 * GiB


def test_auto_mode_leaves_the_jvm_and_200mb_but_at_most_90_percent():
    assert ml_memory_limit(16 * GiB, 4 * GiB, use_auto_machine_memory_percent=True) == 12 * GiB - 200 * MiB
    # A tiny heap would leave more than 90 %: capped.
    assert ml_memory_limit(16 * GiB, 100 * MiB, use_auto_machine_memory_percent=True) == int(0.9 * 16 * GiB)
    # Nothing left beside the JVM: one percent.
    assert ml_memory_limit(1 * GiB, 1 * GiB - 100 * MiB, use_auto_machine_memory_percent=True) == GiB // 100


def test_auto_jvm_size_follows_elasticsearch_heuristic():
    assert auto_jvm_size(8 * GiB) == int(0.4 * 8 * GiB) // (4 * MiB) * (4 * MiB)
    assert auto_jvm_size(32 * GiB) == int(6.4 * GiB + 0.1 * 16 * GiB) // (4 * MiB) * (4 * MiB)
    assert auto_jvm_size(1024 * GiB) == 31 * GiB


def test_allocated_processors_scale_rounds_up():
    assert allocated_cores(8, 1) == 8
    assert allocated_cores(8, 2) == 4
    assert allocated_cores(7, 2) == 4
    assert allocated_cores(2.5) == 3


def test_native_overhead_is_30mb():
    assert NATIVE_EXECUTABLE_CODE_OVERHEAD_BYTES == 30 * MiB


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"machine_memory": 0}, "[machine_memory] must be positive"),
        ({"allocated_processors": 0}, "[allocated_processors] must be positive"),
        ({"other_ml_memory_bytes": -1}, "[other_ml_memory_bytes] must not be negative"),
    ],
)
def test_node_spec_rejects_impossible_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        NodeSpec(name="n", **kwargs)
