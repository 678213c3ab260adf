"""ml-commons' circuit breakers (`MLCircuitBreakerService.checkOpenCB`): checked on the node
that is about to register, deploy or predict with a model; remote models and agents skip
them. An open breaker is counted in the node's `ml_circuit_breaker_trigger_count` and
refuses the work with "<name> is open, please check your resources!".

- "Memory Circuit Breaker": open while the node's heap use (%) is above
  `jvm_heap_memory_threshold`; a threshold of 100 turns it off. The simulator has no JVM:
  the heap use is the stand-in the stats report as `ml_jvm_heap_usage` (the share of the
  node's model memory pool in use, a model about to load not included). Register, deploy
  and predict all check it.
- "Native Memory Circuit Breaker" (deploy only, checked after the memory breaker): open
  when the memory in use in the node's pool (Elasticsearch routes and ml-commons models)
  plus the new model's estimate would exceed `native_memory_threshold` % of the pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import MlError

if TYPE_CHECKING:
    from .service import MlCommons

MEMORY = "Memory Circuit Breaker"
NATIVE_MEMORY = "Native Memory Circuit Breaker"
#: Functions whose work no breaker guards (they load nothing on the node).
EXEMPT_FUNCTIONS = ("REMOTE", "AGENT")


def open_message(name: str) -> str:
    return f"{name} is open, please check your resources!"


def memory_open(ml: MlCommons, node_id: str) -> bool:
    threshold = ml.settings.jvm_heap_memory_threshold
    return threshold < 100 and ml.stats.jvm_heap_usage(node_id) > threshold


def native_memory_open(ml: MlCommons, node_id: str, memory: int) -> bool:
    limit = ml.state.model_memory_pool(node_id) * ml.settings.native_memory_threshold / 100
    return ml.state.model_memory_used(node_id) + memory > limit


def tripped(ml: MlCommons, node_id: str, function_name: str, memory: int | None = None) -> str | None:
    """The message of the first open breaker on the node, counted as a trip; None when all
    are closed or `function_name` is exempt. `memory`: the estimate of a model to deploy
    (the native memory breaker is checked only with one)."""
    if function_name in EXEMPT_FUNCTIONS:
        return None
    if memory_open(ml, node_id):
        name = MEMORY
    elif memory is not None and native_memory_open(ml, node_id, memory):
        name = NATIVE_MEMORY
    else:
        return None
    ml.stats.add_breaker_trip(node_id)
    return open_message(name)


def check(ml: MlCommons, node_id: str, function_name: str) -> None:
    """Refuse a request while a breaker is open: OpenSearch's `CircuitBreakingException`
    (429 circuit_breaking_exception)."""
    message = tripped(ml, node_id, function_name)
    if message is not None:
        raise MlError(429, "circuit_breaking_exception", message)
