"""The capacity search itself (pure): binary search on monotone outcomes agrees with a
scan, uses few tries, and a contradiction found on the way switches to a scan."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from api.sweeps.advise import first_holding


class Oracle:
    """Outcomes by value; records each batch asked for."""

    def __init__(self, values: list[int], held: list[bool]) -> None:
        self.held = dict(zip(values, held))
        self.batches: list[list[int]] = []

    def __call__(self, values: list[int]) -> dict[int, bool]:
        self.batches.append(list(values))
        return {v: self.held[v] for v in values}


@given(st.integers(1, 60), st.data(), st.integers(1, 4))
def test_monotone_outcomes_give_the_first_holding_value(n: int, data: st.DataObject, probes: int) -> None:
    boundary = data.draw(st.integers(0, n))  # values from index `boundary` on hold
    values = list(range(10, 10 + n))
    oracle = Oracle(values, [i >= boundary for i in range(n)])
    search = first_holding(values, oracle, probes)
    assert search.answer == (values[boundary] if boundary < n else None)
    assert search.contradiction is None
    tried = [v for v, _ in search.tried]
    assert len(tried) == len(set(tried)) and all(oracle.held[v] == ok for v, ok in search.tried)
    assert [v for batch in oracle.batches for v in batch] == tried
    assert all(len(batch) <= probes for batch in oracle.batches[1:])
    if probes == 1:
        assert len(tried) <= 2 + math.ceil(math.log2(max(n, 2)))


def test_descending_values_find_the_largest_that_holds() -> None:
    values = list(range(20, 0, -1))  # --maximize: holds up to 13
    search = first_holding(values, Oracle(values, [v <= 13 for v in values]))
    assert search.answer == 13 and search.tried[:2] == [(20, False), (1, True)]


def test_a_contradiction_is_reported_and_every_value_tried() -> None:
    values = [1, 2, 3, 4, 5]
    oracle = Oracle(values, [False, True, False, True, True])  # 2 holds but 3 fails
    search = first_holding(values, oracle, probes=3)
    assert search.contradiction == (2, 3)
    assert search.answer == 2  # the scan's smallest value that holds
    assert sorted(v for v, _ in search.tried) == values
    assert oracle.batches == [[1, 5], [2, 3, 4]]  # the ends, one round of probes: already broken, nothing left


def test_both_ends_contradicting_is_a_contradiction() -> None:
    values = [1, 2, 3, 4]
    search = first_holding(values, Oracle(values, [True, False, False, False]))
    assert search.contradiction == (1, 4) and search.answer == 1


def test_nothing_holds_and_everything_holds() -> None:
    assert first_holding([1, 2, 3], Oracle([1, 2, 3], [False] * 3)).answer is None
    search = first_holding([1, 2, 3], Oracle([1, 2, 3], [True] * 3))
    assert search.answer == 1 and search.tried == [(1, True), (3, True)]
