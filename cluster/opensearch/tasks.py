"""ml-commons tasks: documents in `.plugins-ml-task` whose `state` follows the work they track.

CREATED → RUNNING → COMPLETED / COMPLETED_WITH_ERROR / FAILED. Every change is a write, so
`_version` grows with the task's life like the real index.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .documents import TASK_INDEX, DocumentStore
from .ids import new_document_id


class Tasks:
    def __init__(self, store: DocumentStore, rng: np.random.Generator, millis: Callable[[], int]) -> None:
        self.store = store
        self.rng = rng
        self.millis = millis

    def create(self, task_type: str, function_name: str, model_id: str | None, worker_nodes: list[str],
               state: str = "CREATED", is_async: bool = True) -> str:
        """A new task document; returns its id."""
        task_id = new_document_id(self.rng)
        now = self.millis()
        doc: dict[str, Any] = {
            "task_type": task_type,
            "function_name": function_name,
            "state": state,
            "worker_node": list(worker_nodes),
            "create_time": now,
            "last_update_time": now,
            "is_async": is_async,
        }
        if model_id is not None:
            doc["model_id"] = model_id
        self.store[TASK_INDEX].index(task_id, doc)
        return task_id

    def update(self, task_id: str, state: str | None = None, **fields: Any) -> None:
        """Set the task's state and/or other fields (`model_id`, `error`, `worker_node`)."""
        partial = dict(fields)
        if state is not None:
            partial["state"] = state
        partial["last_update_time"] = self.millis()
        self.store[TASK_INDEX].update(task_id, partial)

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self.store[TASK_INDEX].get(task_id)
