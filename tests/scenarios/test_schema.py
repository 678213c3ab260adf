"""Every class of scenario-file error names the file and the key path, and the checked
scenario holds what the file said (time values, byte sizes, node groups, overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from api.scenarios import ScenarioError, load_scenario

from .conftest import scenario


def _with(path: str, value: Any) -> Callable[[dict], None]:
    """Set a dotted path (list indexes as numbers) in a scenario dict."""

    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _without(path: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


ERRORS = [
    # (what is wrong, the change, the message)
    ("unknown top-level key", _with("sample_evry", "1s"), "scenario: unknown field [sample_evry]"),
    ("missing duration", _without("duration"), "scenario: [duration] is required"),
    ("bad time value", _with("duration", "2 fortnights"), "scenario: duration: failed to parse setting [duration] with value [2 fortnights] as a time value"),
    ("zero duration", _with("duration", 0), "scenario: duration: must be positive"),
    ("wrong type", _with("seed", "seven"), "scenario: seed: must be an integer, got a string"),
    ("list expected", _with("models", {"model_id": "m"}), "scenario: models: must be a list, got an object"),
    ("cluster settings (cluster file parser)", _with("cluster.settings.planner_mode", "best"),
     "scenario: cluster.settings.planner_mode: must be one of ['elasticsearch', 'optimal'], got [best]"),
    ("node field (cluster file parser)", _with("cluster.nodes.1.machine_memory", "lots"),
     "scenario: cluster.nodes[1].machine_memory: failed to parse setting [machine_memory] with value [lots]"),
    ("unknown node field", _with("cluster.nodes.0.ram", "1gb"), "scenario: cluster.nodes[0]: unknown field [ram]"),
    ("group with one name", _with("cluster.nodes.0.count", 3), "scenario: cluster.nodes[0].count: a group of nodes cannot take one [name] or [node_id]"),
    ("zones and zone", _with("cluster.nodes.0.zones", ["a", "b"]), "scenario: cluster.nodes[0].zones: must be a non-empty list, and not given with [zone]"),
    ("duplicate node name", _with("cluster.nodes.1.name", "ml-a"), "scenario: cluster.nodes[1].name: [ml-a] is used by an earlier entry"),
    ("model without size", _without("models.0.model_bytes"), "scenario: models[0]: [model_bytes] is required"),
    ("bad task type", _with("models.0.task_type", "magic"), "scenario: models[0].task_type: must be one of"),
    ("bad inference profile", _with("models.0.inference", {"mean_ms": 10, "distribution": "pareto"}),
     "scenario: models[0].inference: unknown distribution [pareto]"),
    ("unknown inference field", _with("models.0.inference", {"mean": 10}), "scenario: models[0].inference: "),
    ("deployment of an unknown model", _with("deployments.0.model_id", "nope"), "scenario: deployments[0].model_id: no model [nope] in [models]"),
    ("start API validation", _with("deployments.0.threads_per_allocation", 3),
     "scenario: deployments[0]: Validation Failed: 1: [threads_per_allocation] must be a power of 2 less than or equal to 32;"),
    ("duplicate deployment", lambda d: d["deployments"].append(dict(d["deployments"][0])),
     "scenario: deployments[1].deployment_id: [d] is used by an earlier entry"),
    ("traffic for an unknown deployment", _with("traffic.0.deployment_id", "x"),
     "scenario: traffic[0].deployment_id: no deployment [x] in [deployments] or a start_deployment action"),
    ("traffic kind", _with("traffic.0.kind", "bursty"), "scenario: traffic[0]: [kind] must be one of ['constant', 'poisson', 'step', 'diurnal', 'replay'], got [bursty]"),
    ("traffic time value", lambda d: d["traffic"].__setitem__(0, {"deployment_id": "d", "kind": "diurnal", "mean_rate": 5, "period": "one day"}),
     "scenario: traffic[0].period: failed to parse setting [period]"),
    ("step time value", lambda d: d["traffic"].__setitem__(0, {"deployment_id": "d", "kind": "step", "steps": [[0, 1], ["soon", 2]]}),
     "scenario: traffic[0].steps[1][0]: failed to parse setting"),
    ("timeline entry without at", _with("timeline", [{"do": "crash_nodes", "zone": "a"}]), "scenario: timeline[0]: [at] is required"),
    ("unknown action", _with("timeline", [{"at": "1m", "do": "explode"}]), "scenario: timeline[0].do: must be one of ['crash_nodes', "),
    ("negative time", _with("timeline", [{"at": -5, "do": "crash_nodes", "zone": "a"}]), "scenario: timeline[0].at: must not be negative"),
    ("unknown action field", _with("timeline", [{"at": "1m", "do": "crash_nodes", "zone": "a", "hard": True}]),
     "scenario: timeline[0]: unknown field [hard]"),
    ("no node selector", _with("timeline", [{"at": "1m", "do": "remove_nodes"}]), "scenario: timeline[0]: one of [nodes], [zone] or [count] is required"),
    ("names and zone", _with("timeline", [{"at": "1m", "do": "crash_nodes", "nodes": ["ml-a"], "zone": "a"}]),
     "scenario: timeline[0].nodes: give either [nodes] or [zone] and/or [count]"),
    ("add_nodes shape", _with("timeline", [{"at": "1m", "do": "add_nodes", "allocated_processors": "many"}]),
     "scenario: timeline[0].allocated_processors: must be a number"),
    ("update without change", _with("timeline", [{"at": "1m", "do": "update_deployment", "deployment_id": "d"}]),
     "scenario: timeline[0]: Validation Failed: 1: [number_of_allocations] or [adaptive_allocations] is required;"),
    ("stop of an unknown deployment", _with("timeline", [{"at": "1m", "do": "stop_deployment", "deployment_id": "e"}]),
     "scenario: timeline[0].deployment_id: no deployment [e]"),
    ("request method", _with("timeline", [{"at": "1m", "do": "request", "method": "FETCH", "path": "/"}]),
     "scenario: timeline[0].method: must be one of ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'], got [FETCH]"),
    ("request path", _with("timeline", [{"at": "1m", "do": "request", "path": "_cat/ml"}]), "scenario: timeline[0].path: must start with /"),
    ("unknown SLO check", _with("slo", [{"deployment_id": "d", "p999_latency_ms": 5}]), "scenario: slo[0]: unknown field [p999_latency_ms]"),
    ("SLO without a check", _with("slo", [{"deployment_id": "d"}]), "scenario: slo[0]: needs at least one check of"),
    ("negative SLO target", _with("slo", [{"deployment_id": "d", "max_rejected_share": -1}]), "scenario: slo[0].max_rejected_share: must not be negative"),
    ("SLO time value", _with("slo", [{"deployment_id": "d", "fully_allocated_within": "soon"}]),
     "scenario: slo[0].fully_allocated_within: failed to parse setting"),
]


@pytest.mark.parametrize("change, message", [(c, m) for _, c, m in ERRORS], ids=[e[0] for e in ERRORS])
def test_each_error_names_its_key_path(change: Callable[[dict], None], message: str) -> None:
    data = scenario()
    change(data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_file_errors_name_the_file_and_position(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read scenario file: No such file"):
        load_scenario(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nduration: [1h\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.yaml:3:1: invalid YAML: "):
        load_scenario(broken)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"duration": }', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.json:1:14: invalid JSON: Expecting value"):
        load_scenario(bad_json)
    not_object = tmp_path / "list.yaml"
    not_object.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"list\.yaml: must be a JSON object, got a list"):
        load_scenario(not_object)
    wrong_key = tmp_path / "lose-zone.yaml"
    wrong_key.write_text("duration: 1h\ntimeline:\n  - {at: 1m, do: crash_nodes, zone: a}\n  - {at: soon, do: crash_nodes, zone: a}\n")
    with pytest.raises(ScenarioError, match=r"^.*lose-zone\.yaml: timeline\[1\]\.at: failed to parse setting \[at\] with value \[soon\]"):
        load_scenario(wrong_key)


@pytest.mark.parametrize("override, message", [
    ("duration", "scenario: --set duration: expected dotted.key=value"),
    ("cluster.nodes.5.count=2", "scenario: --set cluster.nodes.5.count: [cluster.nodes.5] is out of range (the list has 2 items)"),
    ("cluster.nodes.first.count=2", "scenario: --set cluster.nodes.first.count: [cluster.nodes.first] indexes a list and must be a number"),
    ("seed.value=2", "scenario: --set seed.value: [seed] holds a value, not an object or list"),
    ("models=[unclosed", "scenario: --set models=[unclosed: the value is not valid YAML"),
    ("duration=-1", "scenario: duration: must be positive"),
])
def test_override_errors(override: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(), [override])
    assert str(caught.value).startswith(message), str(caught.value)


def test_values_are_parsed_and_overrides_apply() -> None:
    data = scenario(cluster={"nodes": [{"name": "solo", "zone": "a"}, {"count": 2, "machine_memory": "8gb", "zones": ["b", "c"]}]})
    loaded = load_scenario(data, ["duration=2h", "cluster.nodes.1.count=5", "traffic.0.rate=7.5", "sample_every=1m"])
    assert loaded.duration == 7200.0
    assert loaded.sample_every == 60.0
    assert loaded.seed == 3
    specs = loaded.nodes[1].specs(["solo"])
    assert [(s.name, s.zone, s.machine_memory) for s in specs] == [
        ("ml-1", "b", 8 << 30), ("ml-2", "c", 8 << 30), ("ml-3", "b", 8 << 30), ("ml-4", "c", 8 << 30), ("ml-5", "b", 8 << 30)
    ]
    assert loaded.traffic[0].profile == {"kind": "poisson", "rate": 7.5}
    assert loaded.models[0].model_bytes == 100 << 20
    # a mapping of overrides takes values as they are; the caller's dict is not changed
    assert load_scenario(data, {"name": "other", "deployments.0.number_of_allocations": 3}).deployments[0].number_of_allocations == 3
    assert data["cluster"]["nodes"][1]["count"] == 2


def test_time_values_in_traffic_and_timeline_become_seconds() -> None:
    data = scenario(
        duration="2h",
        traffic=[{"deployment_id": "d", "kind": "diurnal", "mean_rate": 10, "period": "1h", "phase": "15m"}],
        timeline=[
            {"at": "90m", "do": "set_traffic", "deployment_id": "d", "kind": "step", "steps": [[0, 1], ["10m", 5]]},
            {"at": 30, "do": "crash_nodes", "zone": "a"},
            {"at": "3h", "do": "remove_nodes", "count": 1},
        ],
    )
    loaded = load_scenario(data)
    assert loaded.traffic[0].profile == {"kind": "diurnal", "mean_rate": 10, "period": 3600.0, "phase": 900.0}
    assert [(e.index, e.at, e.do) for e in loaded.timeline] == [(1, 30.0, "crash_nodes"), (0, 5400.0, "set_traffic"), (2, 10800.0, "remove_nodes")]
    assert loaded.timeline[1].action.profile["steps"] == [[0, 1], [600.0, 5]]


def test_a_deployment_started_in_the_timeline_can_be_referred_to() -> None:
    data = scenario(
        timeline=[{"at": "1m", "do": "start_deployment", "model_id": "m", "deployment_id": "late"}],
        slo=[{"deployment_id": "late", "p99_latency_ms": 50, "fully_allocated_within": "1m"}],
    )
    data["traffic"].append({"deployment_id": "late", "kind": "constant", "rate": 1})
    loaded = load_scenario(data)
    assert loaded.deployment_ids() == ["d", "late"]
    assert [(s.deployment_id, s.check, s.target) for s in loaded.slo] == [
        ("late", "fully_allocated_within", 60.0), ("late", "p99_latency_ms", 50.0)
    ]
