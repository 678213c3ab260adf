"""`JavaRandom` draws what `java.util.Random` draws (values printed by OpenJDK 17)."""

from scheduler.java_random import JavaRandom


def test_next_double_matches_java_for_the_planners_seed():
    r = JavaRandom(738921734)
    assert [r.next_double() for _ in range(3)] == [0.9992615578843886, 0.7118503890391928, 0.3681747710914163]


def test_bounded_next_double_continues_the_same_stream():
    r = JavaRandom(738921734)
    for _ in range(3):
        r.next_double()
    drawn = [r.next_double_between(0.0, 0.1) for _ in range(3)] + [r.next_double_between(0.05, 0.1)]
    assert drawn == [0.07438322968776233, 0.024185205378795194, 0.027828013068901116, 0.06095957257447003]


def test_seed_42_first_double():
    assert JavaRandom(42).next_double() == 0.7275636800328681


def test_vectorised_draws_are_the_scalar_draws_in_turn():
    import numpy as np

    lows = np.array([0.0, 0.05, 0.0] * 700)
    highs = np.array([0.1, 0.1, 0.2] * 700)
    vectorised, scalar = JavaRandom(738921734), JavaRandom(738921734)
    drawn = vectorised.next_doubles_between(lows, highs)
    assert drawn.tolist() == [scalar.next_double_between(lo, hi) for lo, hi in zip(lows, highs)]
    assert vectorised.next_double() == scalar.next_double()  # and the stream continues alike
