"""What the orchestrator offers and how it meets a required capacity: the node sizes of a
hosted ML tier, processors proportional to memory, one size for every node of the tier.

Pure: like Elastic Cloud, grow a zone's single node through the sizes, then add nodes of the
largest size (up to `max_nodes_per_zone`). The decider's processor tier is already per zone;
its memory tier counts every zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nodes.resources import GiB

from .decider import Capacity


@dataclass(frozen=True, slots=True)
class AutoscalingConfig:
    """The cluster file's `autoscaling` key (it also creates the policy `policy`)."""

    policy: str = "ml"
    node_sizes: tuple[int, ...] = (4 * GiB, 8 * GiB, 16 * GiB, 32 * GiB, 64 * GiB)
    processors_per_gb: float = 0.25
    zones: tuple[str, ...] = ("",)
    max_nodes_per_zone: int = 4
    provision_seconds: float = 180.0
    remove_seconds: float = 60.0
    poll_interval: float = 30.0
    cost_per_gb_hour: float = 0.0
    down_scale_delay: str = "1h"

    def __post_init__(self) -> None:
        if not self.node_sizes or any(s <= 0 for s in self.node_sizes):
            raise ValueError("[node_sizes] must be a non-empty list of positive sizes")
        if list(self.node_sizes) != sorted(set(self.node_sizes)):
            raise ValueError("[node_sizes] must be in increasing order without repeats")
        if not self.processors_per_gb > 0:
            raise ValueError("[processors_per_gb] must be positive")
        if not self.zones or len(set(self.zones)) != len(self.zones):
            raise ValueError("[zones] must be a non-empty list of distinct zones")
        if self.max_nodes_per_zone < 1:
            raise ValueError("[max_nodes_per_zone] must be at least 1")
        for name in ("provision_seconds", "remove_seconds", "cost_per_gb_hour"):
            if getattr(self, name) < 0:
                raise ValueError(f"[{name}] must not be negative")
        if not self.poll_interval > 0:
            raise ValueError("[poll_interval] must be positive")

    def processors(self, size: int) -> float:
        return size / GiB * self.processors_per_gb

    @property
    def largest(self) -> int:
        return self.node_sizes[-1]


@dataclass(frozen=True, slots=True)
class TierShape:
    """`nodes_per_zone` nodes of `size` bytes in every zone (0 nodes: no tier)."""

    size: int
    nodes_per_zone: int

    def to_dict(self) -> dict[str, int]:
        return {"node_size": self.size, "nodes_per_zone": self.nodes_per_zone}


NO_TIER = TierShape(0, 0)


def shape_for(required: Capacity, config: AutoscalingConfig) -> TierShape:
    """The smallest tier shape giving at least `required` (capped at the largest offered)."""
    node_memory = required.node.memory or 0
    node_cpu = required.node.processors or 0.0
    zones = len(config.zones)
    zone_memory = math.ceil((required.total.memory or 0) / zones)
    zone_cpu = required.total.processors or 0.0
    if max(node_memory, zone_memory) <= 0 and max(node_cpu, zone_cpu) <= 0:
        return NO_TIER
    for size in config.node_sizes:
        cpu = config.processors(size)
        if size >= max(node_memory, zone_memory) and cpu >= max(node_cpu, zone_cpu):
            return TierShape(size, 1)
    largest = config.largest
    count = max(math.ceil(zone_memory / largest), math.ceil(zone_cpu / config.processors(largest)), 1)
    return TierShape(largest, min(count, config.max_nodes_per_zone))
