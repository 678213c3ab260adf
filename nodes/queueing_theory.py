"""Closed forms for the M/M/c queue (Erlang C): a check on the simulated queue and a
first answer for capacity planning (how many allocations keep the wait under a target)."""

from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits, with `offered_load` = arrival rate × mean service."""
    if servers < 1:
        raise ValueError("[servers] must be at least 1")
    if offered_load < 0:
        raise ValueError("[offered_load] must not be negative")
    if offered_load >= servers:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / servers
    return b / (1.0 - rho + rho * b)


def mean_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean time in queue (before service); infinite when the queue is unstable."""
    load = arrival_rate * mean_service
    if load >= servers:
        return math.inf
    if load == 0:
        return 0.0
    return erlang_c(servers, load) * mean_service / (servers - load)
