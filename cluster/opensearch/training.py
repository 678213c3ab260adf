"""ml-commons' classic-algorithm APIs on the simulated cluster: `_train/{algorithm}`,
`_train_predict/{algorithm}`, predict with a trained model and `_execute/{algorithm}`.

The numbers come from `algorithms` (deterministic). The input is `input_data` (a data frame)
or `input_query` + `input_index` (a search over a user index whose hits' sources become the
frame), `parameters` the algorithm's. A trained model is a model document as ml-commons
writes it (`name` and `algorithm` the function, `model_version` "1.0.0", `model_state`
TRAINED, the serialised model in `content`, which GET and search leave out); it predicts
without a deploy. `?async=true` answers `{"task_id", "status": "CREATED"}` and the TRAINING
task completes once the clock moves; otherwise `{"model_id", "status": "COMPLETED"}`.

`_execute` runs `local_sample_calculator` and `anomaly_localization` (see
`anomaly_localization.py`); the trainable algorithms are not executable there.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Generator, Mapping

from . import algorithms, xcontent
from .anomaly_localization import localize
from .data_frame import DataFrame, from_sources, parse_data_frame, render
from .documents import MODEL_INDEX
from .errors import MlError, illegal_argument
from .ids import new_document_id
from .register_input import FUNCTION_NAMES
from .search import parse_request, run_search

if TYPE_CHECKING:
    from .service import MlCommons

EXECUTABLE = ("LOCAL_SAMPLE_CALCULATOR", "ANOMALY_LOCALIZATION")


def function_name(algorithm: str) -> str:
    """`FunctionName.from`: the path's algorithm, upper-cased, must be a function."""
    name = algorithm.upper()
    if name not in FUNCTION_NAMES:
        raise illegal_argument("Wrong function name")
    return name


def trainable(algorithm: str) -> str:
    name = function_name(algorithm)
    if name not in algorithms.TRAINABLE:
        raise illegal_argument(f"Unsupported algorithm: {name}")
    return name


class Training:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    # -- input --------------------------------------------------------------------

    def frame(self, body: Mapping[str, Any]) -> DataFrame:
        """The body's data set (`MLEngine.validateMLInput`'s refusals)."""
        if "input_data" in body:
            frame = parse_data_frame(body["input_data"])
        elif "input_index" in body or "input_query" in body:
            frame = self._searched(body)
        else:
            raise illegal_argument("Input data set should not be null")
        if not frame.rows:
            raise illegal_argument("Input data frame should not be null or empty")
        return frame

    def _searched(self, body: Mapping[str, Any]) -> DataFrame:
        indices = xcontent.string_list(body, "input_index") or []
        query = xcontent.obj(body, "input_query") or {}
        sources: list[dict[str, Any]] = []
        for name in indices:
            index = self.ml.store.index_named(name)
            if index is None:
                raise MlError(404, "index_not_found_exception", f"no such index [{name}]")
            found = run_search(index, parse_request(query))
            sources.extend(hit.get("_source", {}) for hit in found["hits"]["hits"])
        return from_sources(sources)

    @staticmethod
    def parameters(body: Mapping[str, Any]) -> dict[str, Any]:
        return xcontent.obj(body, "parameters") or {}

    # -- train --------------------------------------------------------------------

    def train(self, algorithm: str, body: Mapping[str, Any], is_async: bool) -> dict[str, Any]:
        name = trainable(algorithm)
        frame, params = self.frame(body), self.parameters(body)
        node = self._node()
        if not is_async:
            return {"model_id": self._store(name, algorithms.TRAINERS[name](frame, params)), "status": "COMPLETED"}
        task_id = self.ml.tasks.create("TRAINING", name, None, [node] if node else [])
        self.ml.tasks.update(task_id, input_type="DATA_FRAME" if "input_data" in body else "SEARCH_QUERY")
        self.ml.env.process(self._train_later(task_id, name, frame, params))
        return {"task_id": task_id, "status": "CREATED"}

    def _train_later(self, task_id: str, name: str, frame: DataFrame,
                     params: dict[str, Any]) -> Generator[Any, Any, None]:
        self.ml.tasks.update(task_id, state="RUNNING")
        yield self.ml.env.timeout(0)
        try:
            model_id = self._store(name, algorithms.TRAINERS[name](frame, params))
        except MlError as exc:  # the task records what a synchronous train would answer
            self.ml.tasks.update(task_id, state="FAILED", error=exc.reason)
            return
        self.ml.tasks.update(task_id, state="COMPLETED", model_id=model_id)

    def _store(self, name: str, state: dict[str, Any]) -> str:
        content = base64.b64encode(json.dumps(state).encode()).decode()
        model_id = new_document_id(self.ml.rng)
        self.ml.store[MODEL_INDEX].index(model_id, {"name": name, "algorithm": name,
                                                    "model_version": algorithms.VERSION, "content": content,
                                                    "model_state": "TRAINED"})
        self.ml.log.append("os_model_trained", "model trained", model_id=model_id, algorithm=name)
        return model_id

    # -- predict ------------------------------------------------------------------

    def predict(self, model: Mapping[str, Any], algorithm: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """Predict with a trained model (`_predict/{algorithm}/{id}` or `models/{id}/_predict`)."""
        kind = str(model.get("algorithm"))
        name = function_name(algorithm) if algorithm else kind
        if name != kind:
            raise illegal_argument(f"The model's algorithm is {kind}, not {name}")
        frame = self.frame(body)
        state = json.loads(base64.b64decode(str(model.get("content", ""))) or "{}")
        return {"status": "COMPLETED", "prediction_result": render(algorithms.predict(name, state, frame))}

    def train_predict(self, algorithm: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name = trainable(algorithm)
        rows = algorithms.train_predict(name, self.frame(body), self.parameters(body))
        return {"status": "COMPLETED", "prediction_result": render(rows)}

    # -- execute ------------------------------------------------------------------

    def execute(self, algorithm: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name = function_name(algorithm)
        if name == "LOCAL_SAMPLE_CALCULATOR":
            return algorithms.sample_calculator(body)
        if name == "ANOMALY_LOCALIZATION":
            return localize(self.ml.store, body)
        raise illegal_argument(f"Unsupported executable function: {name}")

    def _node(self) -> str | None:
        return next(iter(self.ml.state.nodes), None)
