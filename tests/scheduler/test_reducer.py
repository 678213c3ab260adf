from scheduler import reduce_allocations


def test_single_zone_removes_smallest_route_first():
    zones = {"a": "", "b": "", "c": ""}
    assert reduce_allocations({"a": 1, "b": 3, "c": 2}, zones, 5) == {"b": 3, "c": 2}


def test_route_reduced_by_one_when_it_is_bigger_than_what_to_remove():
    assert reduce_allocations({"a": 3, "b": 3}, {"a": "", "b": ""}, 5) == {"a": 2, "b": 3}


def test_whole_route_removed_when_it_fits_what_to_remove():
    assert reduce_allocations({"a": 2, "b": 3}, {"a": "", "b": ""}, 3) == {"b": 3}


def test_largest_zone_loses_first_and_zones_stay_balanced():
    zones = {"a1": "z1", "a2": "z1", "b1": "z2"}
    # z1 has 4, z2 has 2: z1's smallest route (a1: 2) would leave z1 at 2 >= 2, so it goes
    assert reduce_allocations({"a1": 2, "a2": 2, "b1": 2}, zones, 4) == {"a2": 2, "b1": 2}


def test_balance_blocks_whole_removal():
    zones = {"a1": "z1", "a2": "z1", "b1": "z2"}
    # z1 has 5 (2+3), z2 has 4: removing a1 entirely would leave 3 < 4, so a1 loses one
    assert reduce_allocations({"a1": 2, "a2": 3, "b1": 4}, zones, 7) == {"a2": 3, "b1": 4}


def test_empty_zone_allows_whole_removal():
    zones = {"a1": "z1", "a2": "z1", "b1": "z2"}
    assert reduce_allocations({"a1": 2, "a2": 2}, zones, 2) == {"a2": 2}


def test_ties_break_by_node_id_and_nothing_changes_above_total():
    zones = {"a": "", "b": ""}
    assert reduce_allocations({"b": 2, "a": 2}, zones, 3) == {"a": 1, "b": 2}
    assert reduce_allocations({"a": 2}, zones, 5) == {"a": 2}
    assert reduce_allocations({"a": 2, "b": 1}, zones, 0) == {}
