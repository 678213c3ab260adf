"""Ingest pipelines that run: the inference processor (plus `set` / `remove` for failure
handlers), documents enriched through the models' deployments, and the ingest counters
Elasticsearch reports per pipeline and per processor.

Every inference processor sends its documents through `Cluster.infer_each`, so ingest load is
served by the deployment's queue in simulated time and shows in the deployment's stats
like any `_infer` call. A batch (one `_bulk`, one `_simulate`) goes through each processor
together: one request per document, answered when the queue answers them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .clock import SimClock
from .errors import MlError
from .state import ClusterState

#: `Cluster.infer_each`: (model id, alias or deployment id, docs, inference_config update,
#: timeout) -> one result or error per document.
InferFn = Callable[
    [str, list[dict[str, Any]], "dict[str, Any] | None", float], Awaitable[list["dict[str, Any] | MlError"]]
]

DEFAULT_TARGET_FIELD = "ml.inference"
MODEL_ID_FIELD = "model_id"
#: InferModelAction's default timeout for ingest.
INGEST_TIMEOUT_SECONDS = 10.0
SUPPORTED_TYPES = ("inference", "set", "remove")


def config_error(prop: str, message: str) -> MlError:
    """ES's ConfigurationUtils.newConfigurationException: a parse_exception naming the property."""
    return MlError(400, "parse_exception", f"[{prop}] {message}")


# -- documents ---------------------------------------------------------------------------


def get_path(source: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = source
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def set_path(source: dict[str, Any], path: str, value: Any, append: bool = False) -> None:
    """Set a dotted path, creating objects on the way; with `append`, an existing value
    becomes a list of both (ES's setOrAppendValue for repeated inference results)."""
    parts = path.split(".")
    node = source
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    last = parts[-1]
    if append and last in node:
        existing = node[last]
        node[last] = [*(existing if isinstance(existing, list) else [existing]), value]
    else:
        node[last] = value


def remove_path(source: dict[str, Any], path: str) -> bool:
    parts = path.split(".")
    found, parent = get_path(source, ".".join(parts[:-1])) if len(parts) > 1 else (True, source)
    if not found or not isinstance(parent, dict) or parts[-1] not in parent:
        return False
    del parent[parts[-1]]
    return True


# -- processors --------------------------------------------------------------------------


@dataclass
class Counters:
    """One pipeline's or processor's `count`, `time_in_millis`, `current`, `failed`."""

    count: int = 0
    time_in_millis: int = 0
    current: int = 0
    failed: int = 0

    def add(self, docs: int, millis: int, failed: int) -> None:
        self.count += docs
        self.time_in_millis += millis
        self.failed += failed

    def to_dict(self) -> dict[str, int]:
        return {"count": self.count, "time_in_millis": self.time_in_millis, "current": self.current,
                "failed": self.failed}


@dataclass
class Processor:
    kind: str
    config: dict[str, Any]
    tag: str | None
    ignore_failure: bool
    on_failure: list["Processor"]

    @property
    def stats_name(self) -> str:
        """The processor's key in the ingest stats: its type, then `:tag` when tagged
        (as ES's IngestService names processors)."""
        return f"{self.kind}:{self.tag}" if self.tag else self.kind


def parse_processors(raw: Any, where: str = "processors") -> list[Processor]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise config_error(where, "property isn't a list, but of type [" + type(raw).__name__ + "]")
    processors = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise MlError(400, "parse_exception", "processor must contain exactly one processor type")
        kind, config = next(iter(item.items()))
        if kind not in SUPPORTED_TYPES:
            raise MlError(400, "parse_exception", f"No processor type exists with name [{kind}]")
        if not isinstance(config, dict):
            raise MlError(400, "parse_exception", f"[{kind}] processor config must be an object")
        config = dict(config)
        tag = config.pop("tag", None)
        config.pop("description", None)
        ignore = bool(config.pop("ignore_failure", False))
        handlers = parse_processors(config.pop("on_failure", None), "on_failure")
        _check_config(kind, config)
        processors.append(Processor(kind, config, tag, ignore, handlers))
    return processors


def _check_config(kind: str, config: dict[str, Any]) -> None:
    """The required properties each supported processor reads at creation time."""
    required = {"inference": ("model_id",), "set": ("field",), "remove": ("field",)}[kind]
    for prop in required:
        if config.get(prop) is None:
            raise config_error(prop, "required property is missing")
    if kind == "set" and "value" not in config and "copy_from" not in config:
        raise config_error("value", "required property is missing")
    if kind == "inference":
        inputs = config.get("input_output")
        if inputs is not None:
            if isinstance(inputs, dict):
                config["input_output"] = inputs = [inputs]
            if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
                raise config_error("input_output", "property isn't a map or list of maps")
            if not inputs:
                raise config_error("input_output", "property cannot be empty at least one is required")
            for entry in inputs:
                for prop in ("input_field", "output_field"):
                    if not isinstance(entry.get(prop), str):
                        raise config_error(prop, "required property is missing")
            if config.get("target_field") is not None:
                raise config_error("target_field", "option is incompatible with [input_output]. Use the "
                                   "[output_field] option to specify where to write the inference results to.")
        field_map = config.get("field_map")
        if field_map is not None and not isinstance(field_map, dict):
            raise config_error("field_map", "property isn't a map")


@dataclass
class Pipeline:
    processors: list[Processor]
    on_failure: list[Processor]


def parse_pipeline(body: dict[str, Any]) -> Pipeline:
    if not isinstance(body, dict):
        raise MlError(400, "parse_exception", "[pipeline] required property is missing")
    return Pipeline(parse_processors(body.get("processors")), parse_processors(body.get("on_failure"), "on_failure"))


# -- running -----------------------------------------------------------------------------


@dataclass
class IngestDoc:
    """One document on its way through a pipeline; `error` set once it has failed."""

    source: dict[str, Any]
    error: MlError | None = None
    #: (processor, doc snapshot or error) per processor run, for simulate's verbose mode.
    trace: list[tuple[Processor, dict[str, Any] | MlError]] = field(default_factory=list)


@dataclass
class PipelineStats:
    totals: Counters = field(default_factory=Counters)
    #: (stats name, type, counters) per top-level processor.
    processors: list[tuple[str, str, Counters]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """One pipeline's entry in an `ingest.pipelines` section."""
        return {**self.totals.to_dict(),
                "processors": [{name: {"type": kind, "stats": c.to_dict()}} for name, kind, c in self.processors]}


class IngestService:
    """Runs pipelines on batches of documents and keeps the ingest counters."""

    def __init__(self, state: ClusterState, clock: SimClock, infer: InferFn) -> None:
        self.state = state
        self.clock = clock
        self.infer = infer
        self.totals = Counters()
        self.pipelines: dict[str, PipelineStats] = {}
        #: Bumped at every change of a counter: read answers that show counters key on it
        #: (ingest logs no event and may not move simulated time).
        self.version = 0

    def pipeline(self, pipeline_id: str) -> Pipeline:
        body = self.state.pipelines.get(pipeline_id)
        if body is None:
            raise MlError(400, "illegal_argument_exception", f"pipeline with id [{pipeline_id}] does not exist")
        return parse_pipeline(body)

    async def run(self, pipeline: Pipeline, sources: list[dict[str, Any]], pipeline_id: str | None = None,
                  verbose: bool = False) -> list[IngestDoc]:
        """Every document through the pipeline; counted under `pipeline_id` when it is a
        stored pipeline (simulate of an inline pipeline counts nothing)."""
        docs = [IngestDoc(copy.deepcopy(source)) for source in sources]
        stats = self._stats(pipeline_id, pipeline) if pipeline_id is not None else None
        started = self.clock.now
        if stats is not None:
            self._current(stats.totals, len(docs))
        for index, processor in enumerate(pipeline.processors):
            alive = [doc for doc in docs if doc.error is None]
            if not alive:
                break
            counters = stats.processors[index][2] if stats else None
            await self._apply(processor, alive, counters, verbose)
        failed = [doc for doc in docs if doc.error is not None]
        if failed and pipeline.on_failure:
            for doc in failed:
                doc.error = None
            await self._handlers(pipeline.on_failure, failed, verbose)
        if stats is not None:
            self._current(stats.totals, -len(docs))
            millis = int((self.clock.now - started) * 1000)
            failures = sum(doc.error is not None for doc in docs)
            for counters in (stats.totals, self.totals):
                counters.add(len(docs), millis * len(docs), failures)
        return docs

    def _current(self, pipeline: Counters, docs: int) -> None:
        """Documents in flight (ES's `current`), in the pipeline's and the node's totals."""
        for counters in (pipeline, self.totals):
            counters.current += docs
        self.version += 1

    def _stats(self, pipeline_id: str, pipeline: Pipeline) -> PipelineStats:
        names = [(p.stats_name, p.kind) for p in pipeline.processors]
        stats = self.pipelines.get(pipeline_id)
        if stats is None or [(name, kind) for name, kind, _ in stats.processors] != names:
            previous = stats.totals if stats else Counters()
            stats = self.pipelines[pipeline_id] = PipelineStats(
                previous, [(name, kind, Counters()) for name, kind in names])
        return stats

    def pipeline_stats(self, pipeline_id: str) -> PipelineStats:
        """A stored pipeline's counters; zeros (one per processor) for one that never ran,
        as ES lists every stored pipeline in its node ingest stats."""
        stats = self.pipelines.get(pipeline_id)
        if stats is not None:
            return stats
        try:
            processors = self.pipeline(pipeline_id).processors
        except MlError:
            processors = []
        return PipelineStats(Counters(), [(p.stats_name, p.kind, Counters()) for p in processors])

    async def _apply(self, processor: Processor, docs: list[IngestDoc], counters: Counters | None,
                     verbose: bool) -> None:
        started = self.clock.now
        if processor.kind == "inference":
            errors = await self._inference(processor, docs)
        else:
            errors = [self._simple(processor, doc) for doc in docs]
        millis = int((self.clock.now - started) * 1000)
        if counters is not None:
            counters.add(len(docs), millis * len(docs), sum(e is not None for e in errors))
            self.version += 1
        failed = []
        for doc, error in zip(docs, errors):
            if error is not None and processor.ignore_failure:
                error = None
            if verbose:
                doc.trace.append((processor, error if error is not None else copy.deepcopy(doc.source)))
            if error is not None:
                doc.error = error
                failed.append(doc)
        if failed and processor.on_failure:
            for doc in failed:
                doc.error = None
            await self._handlers(processor.on_failure, failed, verbose)

    async def _handlers(self, handlers: list[Processor], docs: list[IngestDoc], verbose: bool) -> None:
        for handler in handlers:
            alive = [doc for doc in docs if doc.error is None]
            if alive:
                await self._apply(handler, alive, None, verbose)

    def _simple(self, processor: Processor, doc: IngestDoc) -> MlError | None:
        config = processor.config
        if processor.kind == "set":
            if "copy_from" in config:
                found, value = get_path(doc.source, str(config["copy_from"]))
                if not found:
                    return illegal(f"field [{config['copy_from']}] not present as part of path [{config['copy_from']}]")
            else:
                value = config["value"]
            set_path(doc.source, str(config["field"]), copy.deepcopy(value))
            return None
        fields = config["field"] if isinstance(config["field"], list) else [config["field"]]
        for name in fields:
            if not remove_path(doc.source, str(name)) and not config.get("ignore_missing", False):
                return illegal(f"field [{name}] not present as part of path [{name}]")
        return None

    async def _inference(self, processor: Processor, docs: list[IngestDoc]) -> list[MlError | None]:
        config = processor.config
        model = str(config["model_id"])
        update = config.get("inference_config")
        errors: list[MlError | None] = [None] * len(docs)
        #: (document index, the model's input document or the input text)
        requests: list[tuple[int, Any]] = []
        inputs = config.get("input_output")
        for i, doc in enumerate(docs):
            if inputs is None:
                requests.append((i, _mapped(doc.source, config.get("field_map") or {})))
                continue
            texts = []
            for entry in inputs:
                found, value = get_path(doc.source, entry["input_field"])
                if found and not isinstance(value, str):
                    errors[i] = illegal(f"input field [{entry['input_field']}] cannot be processed because it is "
                                        f"not a text field")
                elif not found and not config.get("ignore_missing", False):
                    errors[i] = illegal(f"field [{entry['input_field']}] not present as part of path "
                                        f"[{entry['input_field']}]")
                texts.append(value if found else None)
            if errors[i] is None and any(t is not None for t in texts):
                requests.extend((i, t or "") for t in texts)
        if not requests:
            return errors
        try:
            if inputs is None:
                payload = [doc for _, doc in requests]
            else:
                field_name = self._input_field(model)
                payload = [{field_name: text} for _, text in requests]
            results = await self.infer(model, payload, update, INGEST_TIMEOUT_SECONDS)
        except MlError as exc:
            for i, _ in requests:
                errors[i] = exc
            return errors
        model_id = self.state.resolve_model_id(model) or model
        for (i, _), result in zip(requests, results):
            if isinstance(result, MlError) and errors[i] is None:
                errors[i] = result
        if inputs is None:
            target = config.get("target_field") or (
                f"{DEFAULT_TARGET_FIELD}.{processor.tag}" if processor.tag else DEFAULT_TARGET_FIELD)
            for (i, _), result in zip(requests, results):
                if errors[i] is None and isinstance(result, dict):
                    set_path(docs[i].source, target, {**result, MODEL_ID_FIELD: model_id}, append=True)
            return errors
        position: dict[int, int] = {}
        for (i, _), result in zip(requests, results):
            if errors[i] is not None or not isinstance(result, dict):
                continue
            k = position.get(i, 0)
            position[i] = k + 1
            output = inputs[k]["output_field"]
            value = next(iter(result.values())) if result else None
            set_path(docs[i].source, output, value)
            if k == 0:
                base = output.rpartition(".")[0]
                set_path(docs[i].source, f"{base}.{MODEL_ID_FIELD}" if base else MODEL_ID_FIELD, model_id)
        return errors

    def _input_field(self, name: str) -> str:
        model_id = self.state.resolve_model_id(name)
        if model_id is None and name in self.state.assignments:
            model_id = self.state.assignments[name].model_id
        model = self.state.models.get(model_id or "")
        return model.field_names[0] if model is not None and model.field_names else "text_field"

    def stats(self) -> dict[str, Any]:
        """The `ingest` section of `_nodes/stats` (the simulator counts cluster-wide)."""
        return {
            "total": self.totals.to_dict(),
            "pipelines": {pid: stats.to_dict() for pid, stats in sorted(self.pipelines.items())},
        }

    def stats_for(self, pipeline_ids: list[str]) -> dict[str, Any]:
        """The `ingest` section of a trained model's stats: the pipelines that use the model,
        `total` summing just those (ES's ingestStatsForPipelineIds)."""
        total = Counters()
        pipelines = {}
        for pid in sorted(pipeline_ids):
            stats = self.pipeline_stats(pid)
            total.add(stats.totals.count, stats.totals.time_in_millis, stats.totals.failed)
            total.current += stats.totals.current
            pipelines[pid] = stats.to_dict()
        return {"total": total.to_dict(), "pipelines": pipelines}


def illegal(reason: str) -> MlError:
    return MlError(400, "illegal_argument_exception", reason)


def _mapped(source: dict[str, Any], field_map: dict[str, Any]) -> dict[str, Any]:
    """The document as the model sees it: `field_map` copies a document field under the
    model's input name (ES's LocalModel.mapFieldsIfNecessary)."""
    fields = dict(source)
    for doc_field, model_field in field_map.items():
        found, value = get_path(source, doc_field)
        if found:
            fields[str(model_field)] = value
    return fields

