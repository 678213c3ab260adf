"""The `elasticsearch` mode reproduces plans computed by Elasticsearch's own planner.

Each pair in `data/` is a planning problem and the plan Elasticsearch computed for it
(LP + randomized rounding, bin-pack only, zones, low priority); the mode must give exactly
the same allocations on exactly the same nodes.
"""

import json
from pathlib import Path

import pytest

from scheduler import plan
from scheduler.instance import parse_instance

DATA = Path(__file__).parent / "data"
RECORDED = json.loads((DATA / "es_plans.json").read_text())


@pytest.mark.parametrize("recorded", RECORDED, ids=[r["instance"].removesuffix(".json") for r in RECORDED])
def test_plan_is_the_one_elasticsearch_computed(recorded):
    nodes, deployments = parse_instance(json.loads((DATA / "instances" / recorded["instance"]).read_text()))
    ours = plan(nodes, deployments, mode="elasticsearch").assignments
    theirs = {d: {n: c for n, c in m.items() if c > 0} for d, m in recorded["assignments"].items()}
    assert {d: m for d, m in ours.items() if m} == {d: m for d, m in theirs.items() if m}


def test_the_data_covers_each_path():
    """Both of Elasticsearch's paths (LP used or not), and zoned and low-priority problems."""
    names = [r["instance"] for r in RECORDED]
    assert {r["lp_used"] for r in RECORDED} == {True, False}
    assert any("_z3_" in n for n in names) and any("_z1_" in n for n in names)
    assert any("_low0.3_" in n for n in names)
