"""Which route serves each request: a random choice among started routes weighted by
their current allocations, as Elasticsearch routes inference calls, drawn for a whole
batch at once."""

from __future__ import annotations

from typing import Mapping

import numpy as np

#: Up to this many requests a window is split in plain Python (same result as numpy's).
SMALL_WINDOW = 64


def split_by_allocations(
    count: int, allocations: Mapping[str, int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """For `count` requests in arrival order, the ascending request indices each route gets.

    `allocations` maps the started routes (node id) to their current allocations;
    indices (not times) come back so callers can split arrivals and cache keys alike.
    """
    if any(n < 0 for n in allocations.values()):
        raise ValueError("allocations must not be negative")
    routes = sorted(node for node, n in allocations.items() if n > 0)
    if not routes:
        raise ValueError("no started route has allocations")
    weights = np.array([allocations[node] for node in routes], dtype=float)
    # `rng.choice(len(routes), size=count, p=weights / weights.sum())` without its checks of
    # `p` (valid by construction), which cost more than the draw in a window of a few
    # requests: numpy's own steps, so the same draws and the same routes
    cdf = (weights / weights.sum()).cumsum()
    cdf /= cdf[-1]
    choice = cdf.searchsorted(rng.random(count), side="right")
    if count <= SMALL_WINDOW:  # plain Python sorts a few requests faster than numpy
        indices: list[list[int]] = [[] for _ in routes]
        for i, route in enumerate(choice.tolist()):
            indices[route].append(i)
        return {node: np.array(found, dtype=np.intp) for node, found in zip(routes, indices)}
    # the smallest integer type that holds the route numbers: numpy's stable sort of 8- and
    # 16-bit keys is a radix sort, about twice as fast here as on int64 (same order)
    order = np.argsort(choice.astype(np.min_scalar_type(len(routes))), kind="stable")
    bounds = np.cumsum(np.bincount(choice, minlength=len(routes)))[:-1]
    return dict(zip(routes, np.split(order, bounds)))
