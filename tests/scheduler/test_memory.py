from scheduler import estimate_memory_bytes, format_bytes, memory_curve
from scheduler.memory import MiB


def test_zero_allocations_cost_nothing():
    assert estimate_memory_bytes("m", 100 * MiB, 0) == 0


def test_plain_model_is_overhead_plus_twice_the_model():
    assert estimate_memory_bytes("m", 100 * MiB, 1) == 440 * MiB
    assert estimate_memory_bytes("m", 100 * MiB, 7) == 440 * MiB


def test_per_deployment_and_per_allocation_take_the_larger():
    # metadata smaller than the default: default wins
    assert estimate_memory_bytes("m", 100 * MiB, 2, 10 * MiB, 10 * MiB) == 440 * MiB
    # metadata larger: perDep + perAlloc*n + model
    assert estimate_memory_bytes("m", 100 * MiB, 3, 300 * MiB, 50 * MiB) == (300 + 150 + 100) * MiB


def test_elser_is_flat():
    assert estimate_memory_bytes(".elser_model_2_linux-x86_64", 10 * MiB, 4) == 2004 * MiB
    assert estimate_memory_bytes(".elser_model_1", 900 * MiB, 1) == 2004 * MiB


def test_cache_above_model_size_adds_the_difference():
    assert estimate_memory_bytes("m", 100 * MiB, 1, cache_size=150 * MiB) == 490 * MiB
    assert estimate_memory_bytes("m", 100 * MiB, 1, cache_size=50 * MiB) == 440 * MiB


def test_curve_matches_scalar_estimate():
    curve = memory_curve("m", 100 * MiB, 300 * MiB, 50 * MiB, 120 * MiB)
    for n in range(6):
        assert curve.at(n) == estimate_memory_bytes("m", 100 * MiB, n, 300 * MiB, 50 * MiB, 120 * MiB)


def test_format_bytes_truncates_like_bytesizevalue():
    assert format_bytes(240 * MiB) == "240mb"
    assert format_bytes(int(1.96 * 1024 * MiB)) == "1.9gb"
    assert format_bytes(10 * 1024) == "10kb"
    assert format_bytes(512) == "512b"
