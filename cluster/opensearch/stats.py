"""ml-commons counters: requests, failures and latencies per node and model (for the stats
and profile APIs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class MlStats:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    def record_request(
        self, node_id: str, model_id: str, algorithm: str, action: str, latency_ms: float, failed: bool
    ) -> None:
        """One `action` ("predict", "deploy", "register", ...) served on `node_id`."""
