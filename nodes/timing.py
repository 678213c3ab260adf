"""How long node-side work takes in simulated seconds (configurable per cluster)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeTiming:
    """Durations of the node-side steps of a route's life.

    Loading a model costs a fixed process start plus its bytes over the load bandwidth;
    resizing and stopping a running process are short fixed costs.
    """

    process_start_seconds: float = 2.0
    load_bandwidth_bytes_per_second: float = 100 * 1024 * 1024
    resize_seconds: float = 0.5
    stop_seconds: float = 0.5

    def load_seconds(self, model_bytes: int) -> float:
        return self.process_start_seconds + model_bytes / self.load_bandwidth_bytes_per_second

    def __post_init__(self) -> None:
        for name in ("process_start_seconds", "resize_seconds", "stop_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"[{name}] must not be negative")
        if self.load_bandwidth_bytes_per_second <= 0:
            raise ValueError("[load_bandwidth_bytes_per_second] must be positive")
