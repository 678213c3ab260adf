"""ml-commons' task dispatcher (`MLTaskDispatcher`): which node runs a register task, and,
for predict, which of a model's worker nodes serves a request.

`task_dispatch_policy` picks the way: `round_robin` (one counter for every dispatch, with
ml-commons' wrap-around: past the end it restarts at the first node) or `least_load` (the
node with the fewest executing ML tasks, then the lowest `ml_jvm_heap_usage`, among nodes
under 85 % heap and 10 executing tasks, both fixed in ml-commons). Any other value is
refused when a task is dispatched ("Unknown policy").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .errors import MlError, illegal_argument

if TYPE_CHECKING:
    from .service import MlCommons

ROUND_ROBIN, LEAST_LOAD = "round_robin", "least_load"
#: ml-commons' fixed `DEFAULT_JVM_HEAP_USAGE_THRESHOLD` (%) and `max_ml_task_per_node` default.
HEAP_LIMIT_PERCENT = 85
MAX_TASKS_PER_NODE = 10
NO_ELIGIBLE_NODE = (
    "No eligible node found to execute this request. It's best practice to provision ML nodes to serve your models. "
    "You can disable this setting to serve the model on your data node for development purposes by disabling the "
    '"plugins.ml_commons.only_run_on_ml_node" configuration using the _cluster/setting api'
)


def limit_exceeded(reason: str) -> MlError:
    """`javax.naming.LimitExceededException`: the cluster is busy (OpenSearch answers 500)."""
    return MlError(500, "limit_exceeded_exception", reason)


class TaskDispatcher:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        self._next = 0

    def dispatch(self, function_name: str) -> str:
        """The node a register task of `function_name` runs on, among its eligible nodes."""
        policy = self._policy()
        nodes = self.ml.deployer.eligible_nodes(function_name)
        if policy == LEAST_LOAD:
            return self._least_loaded(nodes)
        if not nodes:
            raise illegal_argument(NO_ELIGIBLE_NODE)
        return self._round_robin(nodes)

    def dispatch_predict(self, node_ids: Sequence[str]) -> str:
        """The worker node that serves a predict request (`dispatchPredictTask`)."""
        if not node_ids:
            raise illegal_argument("no eligible node to run predict request")
        if self._policy() == LEAST_LOAD:
            return self._least_loaded(node_ids)
        return self._round_robin(node_ids)

    def _policy(self) -> str:
        policy = self.ml.settings.task_dispatch_policy
        if policy not in (ROUND_ROBIN, LEAST_LOAD):
            raise illegal_argument("Unknown policy")
        return policy

    def _round_robin(self, nodes: Sequence[str]) -> str:
        current = self._next
        self._next += 1
        if current > len(nodes) - 1:
            current, self._next = 0, 1
        return nodes[current]

    def _least_loaded(self, nodes: Sequence[str]) -> str:
        stats = self.ml.stats
        load = {n: (stats.executing_task_count(n), stats.jvm_heap_usage(n)) for n in nodes}
        candidates = [n for n in nodes if load[n][1] < HEAP_LIMIT_PERCENT]
        if not candidates:
            raise limit_exceeded(f"All nodes' memory usage exceeds limitation {HEAP_LIMIT_PERCENT}. No eligible node "
                                 "available to run ml jobs ")
        candidates = [n for n in candidates if load[n][0] < MAX_TASKS_PER_NODE]
        if not candidates:
            raise limit_exceeded("All nodes' executing ML task count reach limitation.")
        return min(candidates, key=lambda n: load[n])
