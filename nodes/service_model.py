"""How long one inference takes on a model: the service-time side of a route's queue.

Pure numpy so the queue engine can draw a whole batch of service times at once; the
random generator is always passed in so a seeded cluster replays exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Distribution = Literal["exponential", "lognormal", "deterministic"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("exponential", "lognormal", "deterministic")


@dataclass(frozen=True, slots=True)
class InferenceProfile:
    """A model's inference cost.

    `mean_ms` is the mean time of one inference with one thread. More threads per
    allocation speed up only the parallel part (Amdahl's law), so threads beyond a few
    buy little for models with a large serial fraction. `cv` (coefficient of variation)
    shapes the lognormal; exponential has cv 1 and deterministic cv 0 by definition.
    `error_probability` is the chance that an inference fails after using its worker.
    """

    mean_ms: float
    parallel_fraction: float = 0.0
    distribution: Distribution = "exponential"
    cv: float = 1.0
    error_probability: float = 0.0

    def __post_init__(self) -> None:
        if not (self.mean_ms >= 0 and math.isfinite(self.mean_ms)):
            raise ValueError("[mean_ms] must be a finite non-negative number")
        if not 0.0 <= self.parallel_fraction <= 1.0:
            raise ValueError("[parallel_fraction] must be in [0, 1]")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution [{self.distribution}]; expected one of {list(DISTRIBUTIONS)}")
        if not self.cv >= 0:
            raise ValueError("[cv] must not be negative")
        if not 0.0 <= self.error_probability <= 1.0:
            raise ValueError("[error_probability] must be in [0, 1]")

    def mean_seconds(self, threads_per_allocation: int = 1) -> float:
        """Mean service time with `threads_per_allocation` threads (Amdahl speed-up)."""
        if threads_per_allocation < 1:
            raise ValueError("[threads_per_allocation] must be at least 1")
        p = self.parallel_fraction
        return self.mean_ms / 1000.0 * ((1.0 - p) + p / threads_per_allocation)

    def sample_seconds(self, rng: np.random.Generator, n: int, threads_per_allocation: int = 1) -> np.ndarray:
        """`n` service times in seconds drawn from `rng`."""
        mean = self.mean_seconds(threads_per_allocation)
        if self.distribution == "deterministic" or mean == 0.0:
            return np.full(n, mean)
        if self.distribution == "exponential":
            return rng.exponential(mean, n)
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), n)

    def sample_errors(self, rng: np.random.Generator, n: int) -> np.ndarray | None:
        """Which of `n` inferences fail, or None when the model never fails (no draw)."""
        if self.error_probability == 0.0:
            return None
        return rng.random(n) < self.error_probability
