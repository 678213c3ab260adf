"""ml-commons counters: requests, failures and latencies per node and model (for the stats
and profile APIs).

Like ml-commons' `MLStats`, every node counts for itself: node-level request, failure and
circuit-breaker counts; per algorithm and per model, per action (`deploy`, `undeploy`,
`predict`, ...) `ml_action_request_count` / `ml_action_failure_count`; and for the
profile, the latencies of the last `MONITORING_REQUEST_COUNT` predict requests of each
model on each node (forgotten when the model leaves the node).
"""

from __future__ import annotations

from collections import Counter, deque
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .service import MlCommons

#: `plugins.ml_commons.monitoring_request_count` (default): latencies kept per model and node.
MONITORING_REQUEST_COUNT = 100
REQUEST_COUNT, FAILURE_COUNT = "ml_action_request_count", "ml_action_failure_count"


class MlStats:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        #: node → node-level counter → value
        self._node: dict[str, Counter[str]] = {}
        #: node → algorithm → action → counter → value
        self._algorithms: dict[str, dict[str, dict[str, Counter[str]]]] = {}
        #: node → model → action → counter → value
        self._models: dict[str, dict[str, dict[str, Counter[str]]]] = {}
        self._latencies: dict[tuple[str, str], deque[float]] = {}
        #: node → predict requests executing there (ml-commons counts them as ML tasks)
        self._predicting: Counter[str] = Counter()

    def record_request(
        self, node_id: str, model_id: str, algorithm: str, action: str, latency_ms: float, failed: bool
    ) -> None:
        """One `action` ("predict", "deploy", "register", ...) served on `node_id`; a
        successful predict's latency goes to the profile and counts as an access (TTL)."""
        self.add_request(node_id, model_id, algorithm, action)
        if failed:
            self.add_failure(node_id, model_id, algorithm, action)
        elif action == "predict":
            queue = self._latencies.setdefault((node_id, model_id), deque(maxlen=MONITORING_REQUEST_COUNT))
            queue.append(float(latency_ms))
            self.ml.deployer.note_access(node_id, model_id)

    def add_request(self, node_id: str, model_id: str, algorithm: str, action: str) -> None:
        self._count(node_id, model_id, algorithm, action, "ml_request_count", REQUEST_COUNT)

    def add_failure(self, node_id: str, model_id: str, algorithm: str, action: str) -> None:
        self._count(node_id, model_id, algorithm, action, "ml_failure_count", FAILURE_COUNT)

    def add_breaker_trip(self, node_id: str) -> None:
        self._node.setdefault(node_id, Counter())["ml_circuit_breaker_trigger_count"] += 1

    def _count(self, node_id: str, model_id: str, algorithm: str, action: str, node_stat: str, stat: str) -> None:
        self._node.setdefault(node_id, Counter())[node_stat] += 1
        per_algorithm = self._algorithms.setdefault(node_id, {}).setdefault(algorithm.lower(), {})
        per_algorithm.setdefault(action, Counter())[stat] += 1
        per_model = self._models.setdefault(node_id, {}).setdefault(model_id, {})
        per_model.setdefault(action, Counter())[stat] += 1

    def predict_started(self, node_id: str) -> None:
        self._predicting[node_id] += 1

    def predict_finished(self, node_id: str) -> None:
        self._predicting[node_id] -= 1

    def forget_latencies(self, node_id: str, model_id: str) -> None:
        self._latencies.pop((node_id, model_id), None)

    # -- reading ----------------------------------------------------------------------

    def executing_task_count(self, node_id: str) -> int:
        """`ml_executing_task_count`: deploy loads, register downloads and predict requests
        running on the node (what least-load dispatch weighs)."""
        return self.ml.deployer.local.loading_on(node_id) + self.ml.models.running_on(node_id) + self._predicting[node_id]

    def jvm_heap_usage(self, node_id: str) -> int:
        """`ml_jvm_heap_usage`: the simulator has no JVM; the share (%) of the node's model
        memory pool in use (Elasticsearch routes and ml-commons models)."""
        state = self.ml.state
        pool = state.model_memory_pool(node_id)
        return int(100 * state.model_memory_used(node_id) / pool) if pool else 0

    def node_counter(self, node_id: str, name: str) -> int:
        return self._node.get(node_id, Counter())[name]

    def algorithm_stats(self, node_id: str) -> dict[str, Any]:
        return _plain(self._algorithms.get(node_id, {}))

    def model_stats(self, node_id: str) -> dict[str, Any]:
        return _plain(self._models.get(node_id, {}))

    def predict_request_stats(self, node_id: str, model_id: str) -> dict[str, Any] | None:
        """`{count, max, min, average, p50, p90, p99}` in ms over the kept latencies
        (percentiles interpolate linearly, as Guava's `Quantiles` do)."""
        queue = self._latencies.get((node_id, model_id))
        if not queue:
            return None
        values = np.array(queue)
        p50, p90, p99 = np.percentile(values, [50, 90, 99])
        return {
            "count": len(values), "max": float(values.max()), "min": float(values.min()),
            "average": float(values.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99),
        }


def _plain(nested: dict[str, dict[str, Counter[str]]]) -> dict[str, Any]:
    return {outer: {action: dict(counts) for action, counts in inner.items()} for outer, inner in nested.items()}
