"""Cluster-wide settings: Elasticsearch's ML settings plus the simulator's own knobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from nodes.resources import DEFAULT_MAX_MACHINE_MEMORY_PERCENT
from nodes.service_model import InferenceProfile
from nodes.timing import NodeTiming

from .adaptive import DEFAULT_COOLDOWN_SECONDS, DEFAULT_SCALE_TO_ZERO_SECONDS

MAX_TRAINED_MODEL_DEPLOYMENTS = 100


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """`xpack.ml.*` settings that change placement, and how long node work takes.

    `awareness_attributes` is `cluster.routing.allocation.awareness.attributes`; a node's
    zone is its values of those attributes. Scaling is possible (so starts that do not fit
    are accepted and wait) when `max_lazy_ml_nodes` exceeds the ML node count or the
    smallest node is below `max_ml_node_size`.

    `inference_profile` is the inference cost of a model whose metadata has no
    `mlsim_inference_profile`; the adaptive-allocations times are
    `xpack.ml.trained_models.adaptive_allocations.*`.
    """

    cluster_name: str = "mlsim"
    max_machine_memory_percent: int = DEFAULT_MAX_MACHINE_MEMORY_PERCENT
    use_auto_machine_memory_percent: bool = False
    allocated_processors_scale: float = 1
    awareness_attributes: tuple[str, ...] = ("zone",)
    max_lazy_ml_nodes: int = 0
    max_ml_node_size: int = 0
    planner_mode: str = "elasticsearch"
    timing: NodeTiming = field(default_factory=NodeTiming)
    event_log_capacity: int = 100_000
    inference_profile: InferenceProfile = field(
        default_factory=lambda: InferenceProfile(mean_ms=20.0, parallel_fraction=0.5)
    )
    adaptive_cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    adaptive_scale_to_zero_seconds: float = DEFAULT_SCALE_TO_ZERO_SECONDS

    def __post_init__(self) -> None:
        if not 5 <= self.max_machine_memory_percent <= 200:
            raise ValueError("[xpack.ml.max_machine_memory_percent] must be between 5 and 200")
        if self.allocated_processors_scale < 1:
            raise ValueError("[xpack.ml.allocated_processors_scale] must be >= 1")
        if self.max_lazy_ml_nodes < 0 or self.max_ml_node_size < 0:
            raise ValueError("[max_lazy_ml_nodes] and [max_ml_node_size] must not be negative")
