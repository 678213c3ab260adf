"""Native memory a PyTorch deployment needs on one node (Elasticsearch's estimate).

Pure arithmetic shared by the planner (what fits where) and the cluster (what a node
has left); both must agree to the byte, so there is exactly one implementation.
"""

from __future__ import annotations

MiB = 1024 * 1024

#: Fixed cost of a pytorch_inference process next to the model itself.
PROCESS_OVERHEAD_BYTES = 240 * MiB
#: ELSER v1/v2 are charged a flat amount whatever their size.
ELSER_FLAT_BYTES = 2004 * MiB
ELSER_MODEL_ID_PREFIXES = (".elser_model_1", ".elser_model_2")


def estimate_memory_bytes(
    model_id: str,
    model_bytes: int,
    allocations: int,
    per_deployment_memory_bytes: int = 0,
    per_allocation_memory_bytes: int = 0,
    cache_size: int | None = None,
) -> int:
    """Memory for `allocations` allocations of one deployment on one node.

    Zero allocations cost nothing; ELSER ids are flat; otherwise the model is held twice
    (file and loaded copy) plus the process overhead, or the per-deployment/per-allocation
    metadata when that is larger; a cache bigger than the model adds the difference.
    """
    if allocations <= 0:
        return 0
    if model_id.startswith(ELSER_MODEL_ID_PREFIXES):
        required = ELSER_FLAT_BYTES
    else:
        required = PROCESS_OVERHEAD_BYTES + 2 * model_bytes
        if per_deployment_memory_bytes or per_allocation_memory_bytes:
            required = max(
                required,
                per_deployment_memory_bytes
                + per_allocation_memory_bytes * allocations
                + model_bytes,
            )
    if cache_size is not None and cache_size > model_bytes:
        required += cache_size - model_bytes
    return required


def format_bytes(n: int) -> str:
    """Elasticsearch's human size, as in `1.2gb` or `240mb`, used inside reason strings."""
    units = (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10))
    for suffix, size in units:
        if abs(n) >= size:
            value = n / size
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{n}b"
