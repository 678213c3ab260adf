"""Capacity-planning scenarios: a scenario file, `mlsim run`, its summary, time series,
event log and report (see README "Scenarios")."""

from __future__ import annotations

from .runner import ScenarioRun, run_scenario
from .schema import Scenario, ScenarioError, load_scenario
from .summary import Summary

__all__ = ["Scenario", "ScenarioError", "ScenarioRun", "Summary", "load_scenario", "run_scenario"]
