"""Native memory a PyTorch deployment needs on one node (Elasticsearch's estimate).

Pure arithmetic shared by the planner (what fits where) and the cluster (what a node
has left); both must agree to the byte, so there is exactly one implementation: the
`MemoryCurve` below. The scalar `estimate_memory_bytes` and the planner's vectorised
arithmetic both evaluate the same curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

MiB = 1024 * 1024

#: Fixed cost of a pytorch_inference process next to the model itself.
PROCESS_OVERHEAD_BYTES = 240 * MiB
#: ELSER v1/v2 are charged a flat amount whatever their size.
ELSER_FLAT_BYTES = 2004 * MiB
ELSER_MODEL_ID_PREFIXES = (".elser_model_1", ".elser_model_2")


@dataclass(frozen=True, slots=True)
class MemoryCurve:
    """Memory for n > 0 allocations is `max(floor, base + slope * n)`; zero costs nothing.

    Every form of Elasticsearch's estimate fits this shape, which lets the planner
    evaluate it for whole arrays of allocation counts at once.
    """

    floor: int
    base: int
    slope: int

    def at(self, allocations: int) -> int:
        if allocations <= 0:
            return 0
        return max(self.floor, self.base + self.slope * allocations)


@lru_cache(maxsize=8192)
def memory_curve(
    model_id: str,
    model_bytes: int,
    per_deployment_memory_bytes: int = 0,
    per_allocation_memory_bytes: int = 0,
    cache_size: int | None = None,
) -> MemoryCurve:
    """The estimate's shape for one deployment.

    ELSER ids are flat; otherwise the model is held twice (file and loaded copy) plus the
    process overhead, or the per-deployment/per-allocation metadata when that is larger;
    a cache bigger than the model adds the difference on top. Cached: every plan asks for
    the curve of every deployment, and deployments rarely change.
    """
    extra = cache_size - model_bytes if cache_size is not None and cache_size > model_bytes else 0
    if model_id.startswith(ELSER_MODEL_ID_PREFIXES):
        flat = ELSER_FLAT_BYTES + extra
        return MemoryCurve(flat, flat, 0)
    floor = PROCESS_OVERHEAD_BYTES + 2 * model_bytes + extra
    if per_deployment_memory_bytes or per_allocation_memory_bytes:
        return MemoryCurve(
            floor, per_deployment_memory_bytes + model_bytes + extra, per_allocation_memory_bytes
        )
    return MemoryCurve(floor, floor, 0)


def estimate_memory_bytes(
    model_id: str,
    model_bytes: int,
    allocations: int,
    per_deployment_memory_bytes: int = 0,
    per_allocation_memory_bytes: int = 0,
    cache_size: int | None = None,
) -> int:
    """Memory for `allocations` allocations of one deployment on one node."""
    return memory_curve(
        model_id, model_bytes, per_deployment_memory_bytes, per_allocation_memory_bytes, cache_size
    ).at(allocations)


def format_bytes(n: int) -> str:
    """Elasticsearch's ByteSizeValue rendering, as in `1.9gb` or `240mb`.

    The largest unit the value reaches, one decimal kept by truncation (not rounding),
    and a `.0` dropped — the way ES's `Strings.format1Decimals` writes it.
    """
    units = (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10))
    for suffix, size in units:
        if n >= size:
            whole, rest = divmod(n, size)
            tenth = rest * 10 // size
            return f"{whole}{suffix}" if tenth == 0 else f"{whole}.{tenth}{suffix}"
    return f"{n}b"
