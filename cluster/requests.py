"""Start and update deployment requests, with Elasticsearch's validation messages.

Validation collects every problem before answering, in Elasticsearch's order, so one
request shows all of its mistakes (`Validation Failed: 1: …;2: …;`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import RequestValidation

MAX_THREADS_PER_ALLOCATION = 32
MAX_QUEUE_CAPACITY = 100_000
DEFAULT_QUEUE_CAPACITY = 10_000
DEFAULT_START_TIMEOUT_SECONDS = 30.0
WAIT_FOR_STATES = ("starting", "started", "fully_allocated")
PRIORITIES = ("normal", "low")


@dataclass(frozen=True, slots=True)
class AdaptiveAllocations:
    enabled: bool = False
    min_number_of_allocations: int | None = None
    max_number_of_allocations: int | None = None

    def validate_into(self, check: RequestValidation) -> None:
        low, high = self.min_number_of_allocations, self.max_number_of_allocations
        check.check(low is None or low >= 0, "[min_number_of_allocations] must be a non-negative integer or null")
        check.check(high is None or high >= 1, "[max_number_of_allocations] must be a positive integer or null")
        check.check(
            low is None or high is None or low <= high,
            "[min_number_of_allocations] must not be larger than [max_number_of_allocations]",
        )

    def merged_with(self, update: "AdaptiveAllocations | None", given: set[str]) -> "AdaptiveAllocations":
        """Field-by-field merge: fields named in `given` come from `update`."""
        if update is None:
            return self
        return AdaptiveAllocations(
            enabled=update.enabled if "enabled" in given else self.enabled,
            min_number_of_allocations=update.min_number_of_allocations
            if "min_number_of_allocations" in given
            else self.min_number_of_allocations,
            max_number_of_allocations=update.max_number_of_allocations
            if "max_number_of_allocations" in given
            else self.max_number_of_allocations,
        )

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"enabled": self.enabled}
        if self.min_number_of_allocations is not None:
            body["min_number_of_allocations"] = self.min_number_of_allocations
        if self.max_number_of_allocations is not None:
            body["max_number_of_allocations"] = self.max_number_of_allocations
        return body


@dataclass(frozen=True, slots=True)
class StartRequest:
    model_id: str
    deployment_id: str | None = None
    number_of_allocations: int | None = None
    threads_per_allocation: int = 1
    queue_capacity: int = DEFAULT_QUEUE_CAPACITY
    priority: str = "normal"
    cache_size: int | None = None
    timeout: float = DEFAULT_START_TIMEOUT_SECONDS
    wait_for: str = "started"
    adaptive_allocations: AdaptiveAllocations | None = None

    @property
    def effective_allocations(self) -> int:
        """Unset allocations mean 1, or the adaptive minimum when that is above zero."""
        if self.number_of_allocations is not None:
            return self.number_of_allocations
        adaptive = self.adaptive_allocations
        if adaptive and adaptive.min_number_of_allocations:
            return adaptive.min_number_of_allocations
        return 1

    def validate(self) -> None:
        check = RequestValidation()
        adaptive_on = bool(self.adaptive_allocations and self.adaptive_allocations.enabled)
        if self.number_of_allocations is not None:
            check.check(self.number_of_allocations >= 1, "[number_of_allocations] must be a positive integer")
            check.check(not adaptive_on, "[number_of_allocations] cannot be set if adaptive allocations is enabled")
        threads = self.threads_per_allocation
        check.check(threads >= 1, "[threads_per_allocation] must be a positive integer")
        if threads >= 1:
            check.check(
                threads <= MAX_THREADS_PER_ALLOCATION and threads & (threads - 1) == 0,
                f"[threads_per_allocation] must be a power of 2 less than or equal to {MAX_THREADS_PER_ALLOCATION}",
            )
        check.check(self.queue_capacity >= 1, "[queue_capacity] must be a positive integer")
        check.check(
            self.queue_capacity <= MAX_QUEUE_CAPACITY, f"[queue_capacity] must be less than {MAX_QUEUE_CAPACITY}"
        )
        check.check(self.timeout > 0, "[timeout] must be positive")
        if self.priority == "low":
            check.check(self.effective_allocations == 1, "[number_of_allocations] must be 1 when [priority] is low")
            check.check(threads == 1, "[threads_per_allocation] must be 1 when [priority] is low")
        if self.adaptive_allocations is not None:
            self.adaptive_allocations.validate_into(check)
        check.raise_if_failed()


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    deployment_id: str
    number_of_allocations: int | None = None
    adaptive_allocations: AdaptiveAllocations | None = None
    adaptive_fields: frozenset[str] = frozenset()
    reset_adaptive: bool = False
    allow_zero: bool = False

    def validate(self) -> None:
        check = RequestValidation()
        n = self.number_of_allocations
        adaptive_on = bool(self.adaptive_allocations and self.adaptive_allocations.enabled)
        check.check(
            n is not None or self.adaptive_allocations is not None or self.reset_adaptive,
            "[number_of_allocations] or [adaptive_allocations] is required",
        )
        if n is not None:
            check.check(n >= (0 if self.allow_zero else 1), "[number_of_allocations] must be a positive integer")
            check.check(not adaptive_on, "[number_of_allocations] cannot be set if adaptive allocations is enabled")
        if self.adaptive_allocations is not None:
            self.adaptive_allocations.validate_into(check)
        check.raise_if_failed()
