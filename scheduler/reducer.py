"""Elasticsearch's AllocationReducer: take allocations away for a decrease, no re-plan.

Each step looks at the zone with the most allocations and its smallest route: the route
goes entirely when it has one allocation, or when it is no bigger than what is left to
remove and the zone stays at least as big as the smallest zone; otherwise it loses one.
Removing whole routes frees their memory; picking the largest zone keeps zones balanced.
Ties go to the zone name and then the node id, so the result is deterministic.
"""

from __future__ import annotations

from typing import Mapping


def reduce_allocations(current: Mapping[str, int], zone_of: Mapping[str, str], target: int) -> dict[str, int]:
    """Target allocations per node after reducing `current` (node → allocations) to `target`.

    `zone_of` maps node ids to zones (a node it does not list is in zone ""); zones listed
    there without any route count as empty zones. Nothing changes when `target` is not
    below the current total.
    """
    left = {node: count for node, count in current.items() if count > 0}
    zone = lambda node: zone_of.get(node, "")  # noqa: E731
    per_zone = {z: 0 for z in zone_of.values()}
    for node, count in left.items():
        per_zone[zone(node)] = per_zone.get(zone(node), 0) + count
    total = sum(left.values())
    target = max(target, 0)
    while total > target:
        to_remove = total - target
        largest = min(per_zone, key=lambda z: (-per_zone[z], z))
        smallest_zone = min(per_zone.values()) if len(per_zone) > 1 else 0
        node = min((n for n in left if zone(n) == largest), key=lambda n: (left[n], n))
        count = left[node]
        removable = count == 1 or (
            count <= to_remove and (smallest_zone == 0 or per_zone[largest] - count >= smallest_zone)
        )
        taken = count if removable else 1
        per_zone[largest] -= taken
        total -= taken
        if removable:
            del left[node]
        else:
            left[node] -= 1
    return left
