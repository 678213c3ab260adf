"""The import face for scripts: `import mlsim` gives the simulated cluster, the traffic
profiles and scenario runs without knowing the packages' internal module names."""

from __future__ import annotations

from api.scenarios import Scenario, ScenarioError, Summary, load_scenario, run_scenario
from cluster.cluster import Cluster
from cluster.metrics import RequestCounts, RequestTally
from cluster.settings import ClusterSettings
from cluster.traffic import ConstantRate, Diurnal, Poisson, Replay, Step, TrafficProfile, profile_from_json

__all__ = [
    "Cluster", "ClusterSettings", "ConstantRate", "Diurnal", "Poisson", "Replay", "RequestCounts", "RequestTally",
    "Scenario", "ScenarioError",
    "Step", "Summary", "TrafficProfile", "load_scenario", "profile_from_json", "run_scenario",
]
