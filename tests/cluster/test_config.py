"""Parsing node shapes, settings and cluster files, and the errors a user sees."""

import json

import pytest

from cluster.bytesize import parse_byte_size
from cluster.config import (
    ConfigError, free_node_name, load_cluster_file, parse_cluster, parse_node_spec, parse_settings,
)
from nodes.resources import GiB


@pytest.mark.parametrize(
    "value, expected",
    [(1024, 1024), ("16gb", 16 * GiB), ("16G", 16 * GiB), ("512mb", 512 << 20), ("1.5gb", 3 * GiB // 2),
     ("100", 100), ("10b", 10), ("2tb", 2 << 40)],
)
def test_byte_sizes(value, expected):
    assert parse_byte_size(value, "x") == expected


@pytest.mark.parametrize("value", ["gb", "16 parsecs", "-1gb", -5, True, None, [1], 1.5])
def test_bad_byte_sizes(value):
    with pytest.raises(ValueError, match=r"\[x\]"):
        parse_byte_size(value, "x")


def test_node_spec_fields_and_defaults():
    spec = parse_node_spec(
        {"machine_memory": "8gb", "allocated_processors": 2.5, "jvm_size": "2gb", "zone": "z1",
         "attributes": {"rack": "r"}, "other_ml_memory_bytes": "1gb", "node_id": "n1"},
        default_name="ml-9",
    )
    assert (spec.name, spec.machine_memory, spec.allocated_processors, spec.jvm_size) == ("ml-9", 8 * GiB, 2.5, 2 * GiB)
    assert (spec.zone, spec.attributes, spec.other_ml_memory_bytes, spec.node_id) == ("z1", {"rack": "r"}, GiB, "n1")
    assert parse_node_spec({"name": "a"}, "unused").machine_memory == 16 * GiB


@pytest.mark.parametrize(
    "data, message",
    [
        ("16gb", "node: must be a JSON object, got a string"),
        ({"cpus": 4}, "node: unknown field [cpus]"),
        ({"name": 3}, "node.name: must be a string, got a number [3]"),
        ({"allocated_processors": True}, "node.allocated_processors: must be a number, got a boolean"),
        ({"allocated_processors": -1}, "node: [allocated_processors] must be positive"),
        ({"machine_memory": "lots"}, "node.machine_memory: failed to parse setting [machine_memory]"),
        ({"other_ml_memory_bytes": -1}, "node.other_ml_memory_bytes: [other_ml_memory_bytes] must not be negative"),
        ({"attributes": {"rack": 1}}, "node.attributes: must be an object of string values"),
        ({"node_id": ""}, "node.node_id: must not be empty"),
        ({"machine_memory": "4gb", "jvm_size": "4gb"}, "node.jvm_size: must be smaller than machine_memory"),
    ],
)
def test_node_spec_errors(data, message):
    with pytest.raises(ConfigError) as error:
        parse_node_spec(data, "ml-1")
    assert str(error.value).startswith(message)


def test_settings_fields():
    settings = parse_settings(
        {"cluster_name": "lab", "max_machine_memory_percent": 40, "allocated_processors_scale": 2,
         "awareness_attributes": ["zone", "rack"], "max_lazy_ml_nodes": 1, "max_ml_node_size": "64gb",
         "planner_mode": "optimal", "use_auto_machine_memory_percent": True, "event_log_capacity": 10,
         "timing": {"process_start_seconds": "500ms", "load_bandwidth_bytes_per_second": "1gb", "stop_seconds": 1}}
    )
    assert settings.cluster_name == "lab" and settings.max_ml_node_size == 64 * GiB
    assert settings.awareness_attributes == ("zone", "rack") and settings.planner_mode == "optimal"
    assert settings.timing.process_start_seconds == 0.5 and settings.timing.load_bandwidth_bytes_per_second == GiB
    assert settings.timing.stop_seconds == 1 and settings.timing.resize_seconds == 0.5


@pytest.mark.parametrize(
    "data, message",
    [
        ({"planner_mode": "best"}, "settings.planner_mode: must be one of ['elasticsearch', 'optimal']"),
        ({"max_machine_memory_percent": 500}, "settings: [xpack.ml.max_machine_memory_percent] must be between"),
        ({"max_machine_memory_percent": "30"}, "settings.max_machine_memory_percent: must be an integer"),
        ({"awareness_attributes": "zone"}, "settings.awareness_attributes: must be a list of strings"),
        ({"timing": {"warp": 1}}, "settings.timing: unknown field [warp]"),
        ({"timing": {"resize_seconds": -1}}, "settings.timing: [resize_seconds] must not be negative"),
        ({"event_log_capacity": 0}, "settings.event_log_capacity: must be a positive integer"),
        ({"use_auto_machine_memory_percent": "yes"}, "settings.use_auto_machine_memory_percent: must be true or false"),
    ],
)
def test_settings_errors(data, message):
    with pytest.raises(ConfigError) as error:
        parse_settings(data)
    assert str(error.value).startswith(message)


def test_cluster_names_unnamed_nodes_in_order():
    config = parse_cluster({"nodes": [{}, {"name": "gpu"}, {}]})
    assert [n.name for n in config.nodes] == ["ml-1", "gpu", "ml-3"]
    assert parse_cluster({}).nodes == ()


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "cluster file: must be a JSON object, got a list"),
        ({"node": []}, "cluster file: unknown field [node]"),
        ({"nodes": {}}, "nodes: must be a list of node objects, got an object"),
        ({"nodes": [{}, {"zone": 1}]}, "nodes[1].zone: must be a string"),
        ({"nodes": [{"name": "a"}, {"name": "a"}]}, "nodes[1].name: [a] is used by an earlier node"),
        ({"nodes": [{"node_id": "x"}, {"node_id": "x"}]}, "nodes[1].node_id: [x] is used by an earlier node"),
    ],
)
def test_cluster_errors(data, message):
    with pytest.raises(ConfigError) as error:
        parse_cluster(data)
    assert str(error.value).startswith(message)


def test_load_cluster_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"settings": {"cluster_name": "x"}, "nodes": [{"machine_memory": "32gb"}]}))
    config = load_cluster_file(path)
    assert config.settings.cluster_name == "x" and config.nodes[0].machine_memory == 32 * GiB


def test_load_cluster_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="missing.json: cannot read cluster file"):
        load_cluster_file(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [\n  {"name": }]}')
    with pytest.raises(ConfigError, match=r"broken.json:2:\d+: invalid JSON"):
        load_cluster_file(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"nodes": [{"cpus": 2}]}')
    with pytest.raises(ConfigError, match=r"wrong.json: nodes\[0\]: unknown field \[cpus\]"):
        load_cluster_file(wrong)


def test_free_node_name_fills_the_first_gap():
    assert free_node_name([]) == "ml-1"
    assert free_node_name(["ml-1", "ml-3", "gpu"]) == "ml-2"
