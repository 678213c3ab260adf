"""Capacity search: the first of an ordered list of values at which every SLO holds,
assuming that once one holds every later one does (`mlsim advise` orders a range
ascending to find the smallest value, descending with `--maximize` for the largest).

Both ends are tried first, then the interval between the last failing and first holding
value is split by `probes` values a round (1: a binary search) until they are
neighbours. A tried value that breaks the assumption (one that holds before one that
fails) is reported and every value is tried instead, the answer then being the first
that holds. Pure: the runs are behind `evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

#: Runs the given values (all seeds each) and says, per value, whether every SLO held.
Evaluate = Callable[[list[int]], Mapping[int, bool]]


@dataclass(frozen=True)
class Search:
    answer: int | None
    #: (value, every SLO held) in the order tried.
    tried: list[tuple[int, bool]]
    #: (a value that held, a later value that failed) when the assumption broke.
    contradiction: tuple[int, int] | None = None


def first_holding(values: Sequence[int], evaluate: Evaluate, probes: int = 1) -> Search:
    if not values or probes < 1:
        raise ValueError("first_holding needs values and at least one probe a round")
    tried: dict[int, bool] = {}  # index into values -> held; in the order tried

    def run(indices: list[int]) -> None:
        new = [i for i in dict.fromkeys(indices) if i not in tried]
        if not new:
            return
        held = evaluate([values[i] for i in new])
        tried.update((i, bool(held[values[i]])) for i in new)

    def outcome(index: int | None, contradiction: tuple[int, int] | None = None) -> Search:
        answer = None if index is None else values[index]
        return Search(answer, [(values[i], ok) for i, ok in tried.items()], contradiction)

    last = len(values) - 1
    run([0, last])
    while True:
        broken = _broken(tried)
        if broken is not None:
            run(list(range(len(values))))
            return outcome(next((i for i in range(len(values)) if tried[i]), None),
                           (values[broken[0]], values[broken[1]]))
        if tried[0]:
            return outcome(0)
        if not tried[last]:
            return outcome(None)
        failing = max(i for i, ok in tried.items() if not ok)
        holding = min(i for i, ok in tried.items() if ok)
        if holding - failing == 1:
            return outcome(holding)
        step = (holding - failing) / (probes + 1)
        run(sorted({min(holding - 1, max(failing + 1, failing + round(step * j))) for j in range(1, probes + 1)}))


def _broken(tried: Mapping[int, bool]) -> tuple[int, int] | None:
    """The first index that held and the first later one that failed, if any."""
    held_at = None
    for index in sorted(tried):
        if tried[index] and held_at is None:
            held_at = index
        elif not tried[index] and held_at is not None:
            return held_at, index
    return None
