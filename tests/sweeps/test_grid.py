"""The grid: `--grid` and `LO..HI` parsing, expansion order, run directory names."""

from __future__ import annotations

import pytest

from api.sweeps.grid import Axis, Point, expand, parse_axis, parse_range
from cluster.config import ConfigError


def test_values_and_ranges() -> None:
    assert parse_axis("cluster.nodes.0.count=2..4") == Axis("cluster.nodes.0.count", ("2", "3", "4"))
    assert parse_axis(" traffic.0.rate = 5, 10 ,40") == Axis("traffic.0.rate", ("5", "10", "40"))
    assert parse_axis("cluster.settings.planner_mode=elasticsearch,opensearch").values == ("elasticsearch", "opensearch")


@pytest.mark.parametrize("text, message", [
    ("nodes", "expected dotted.key=VALUES"),
    ("=1,2", "expected dotted.key=VALUES"),
    ("k=1,,2", "a value is empty"),
    ("k=1,2,1", r"\['1'\] listed more than once"),
    ("k=5..2", "the range 5..2 is empty"),
    ("k=[1,2", "not valid YAML"),
])
def test_bad_axes_say_why(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_axis(text)


def test_range_must_be_integers() -> None:
    assert parse_range("-2..3", "--vary k") == (-2, 3)
    with pytest.raises(ConfigError, match=r"--vary k: expected an integer range LO..HI, got \[1.5..3\]"):
        parse_range("1.5..3", "--vary k")


def test_expansion_first_axis_slowest_and_values_read_as_yaml() -> None:
    points = expand([Axis("a", ("1", "2")), Axis("b", ("x", "10m"))])
    assert [p.settings for p in points] == [
        (("a", "1"), ("b", "x")), (("a", "1"), ("b", "10m")), (("a", "2"), ("b", "x")), (("a", "2"), ("b", "10m")),
    ]
    assert points[1].overrides() == {"a": 1, "b": "10m"}
    assert points[1].label == "a=1,b=10m"
    assert expand([]) == [Point(())] and Point(()).label == "base"


def test_a_key_twice_or_colliding_directory_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="a key is given twice"):
        expand([Axis("a", ("1",)), Axis("a", ("2",))])
    with pytest.raises(ConfigError, match="would share a run directory"):
        expand([Axis("a", ("x/y", "x y"))])
    assert Point((("a", "x/y"),)).label == "a=x_y"
