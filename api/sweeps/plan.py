"""From a scenario (after the command's `--set` overrides) and the points to try to the
runs to do: every point checked before anything runs (an invalid one is a ScenarioError
naming the file and the point), then a task per point and seed.
"""

from __future__ import annotations

from typing import Sequence

from api.scenarios.schema import Scenario, ScenarioError, load_scenario

from .grid import Point
from .work import RunTask


def plan_runs(base: Scenario, points: Sequence[Point], seeds: int, files: bool = True,
              report: bool = False) -> list[RunTask]:
    """A task per point and seed: seeds are the scenario's seed and the next `seeds - 1`."""
    data = {**base.data, "name": base.name}  # loading from data keeps the file's name
    tasks = []
    for point in points:
        try:
            scenario = load_scenario(data, point.overrides())
        except ScenarioError as exc:
            raise ScenarioError(f"{base.source} at {point.label}: {str(exc).removeprefix('scenario: ')}") from None
        tasks += [RunTask(point.label, scenario.seed + k, dict(scenario.data), files, report) for k in range(seeds)]
    return tasks
