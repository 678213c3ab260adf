"""Trained models, their definitions and vocabularies, aliases and ingest pipelines.

Every cluster starts with the built-in `lang_ident_model_1`; a PUT of an Elastic-provided
package id downloads it in simulated time (`cluster.builtin_models`); inline definitions
are checked by `cluster.model_validation` before anything is stored.

The alias rules are the seeds' (`shared/seeds/00[0-2]*`): unique aliases, many per model,
no reassignment across analysis types or between PyTorch and analytics models, none from a
deployed (or allocated) PyTorch model to one that is not, and a warning when the input
fields differ a lot.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import simpy

from .builtin_models import LANG_IDENT_ID, PACKAGES, lang_ident_model
from .clock import SimClock
from .errors import MlError, RequestValidation, not_found, status_error
from .events import EventLog
from .ids import alias_problem, id_problem
from .master import Master
from .model_validation import definition_error, estimated_operations
from .models import DefinitionUpload, TrainedModel, model_from_config
from .state import ClusterState, inference_model_ids, inference_processors


class ModelService:
    def __init__(self, state: ClusterState, master: Master, clock: SimClock, log: EventLog) -> None:
        self.state = state
        self.master = master
        self.clock = clock
        self.log = log
        #: Whether a name is an inference endpoint id (an inference processor may name one,
        #: ES 8.13+); `InferenceEndpoints`, built on this service, sets it.
        self.is_inference_endpoint: Callable[[str], bool] = lambda name: False
        state.models.setdefault(LANG_IDENT_ID, lang_ident_model())

    # -- models ---------------------------------------------------------------------

    def get(self, model_id_or_alias: str) -> TrainedModel:
        model_id = self.state.resolve_model_id(model_id_or_alias)
        if model_id is None:
            raise not_found(f"Could not find trained model [{model_id_or_alias}]")
        return self.state.models[model_id]

    def put(self, model_id: str, config: dict[str, Any]) -> TrainedModel:
        """Store a model from a PUT body whose shape the caller has already parsed; an
        Elastic-provided package id starts its (simulated) download instead."""
        package = PACKAGES.get(model_id)
        existing = self.state.models.get(model_id)
        if package is not None and existing is not None and existing.downloading:
            return existing  # ES answers a PUT during the download with the model being fetched
        if package is not None:
            config = {**package.config(), **({"input": config["input"]} if "input" in config else {})}
        check = RequestValidation()
        problem = None if package else id_problem("model_id", model_id)
        check.check(problem is None, problem or "")
        check.check("inference_config" in config, "[inference_config] must not be null.")
        check.raise_if_failed()
        definition = config.get("definition")
        if isinstance(definition, dict):
            error = definition_error(model_id, config.get("model_type"), next(iter(config["inference_config"])),
                                     definition)
            if error is not None:
                raise error
        if model_id in self.state.models:
            raise status_error(400, f"Trained machine learning model [{model_id}] already exists")
        if model_id in self.state.assignments:
            raise status_error(
                400, f"Cannot create model [{model_id}] the id is the same as an current model deployment"
            )
        operations = estimated_operations(definition) if isinstance(definition, dict) else config.get(
            "estimated_operations", 0)
        model = model_from_config(model_id, config, self.clock.millis(), operations)
        self.state.models[model_id] = model
        self.log.append("model_created", "put model", model_id=model_id, model_type=model.model_type)
        if package is not None:
            model.downloading = True
            self.clock.env.process(self._download(model, package.download_seconds))
        return model

    def _download(self, model: TrainedModel, seconds: float) -> Iterator[simpy.Event]:
        """The package download: the definition arrives whole once it is done."""
        yield self.clock.env.timeout(seconds)
        if self.state.models.get(model.model_id) is model:
            model.definition = DefinitionUpload(1, model.model_bytes, {0})
            model.downloading = False
            self.log.append("model_downloaded", "download model", model_id=model.model_id)

    def put_definition_part(self, model_id: str, part: int, total_parts: int, total_definition_length: int) -> None:
        model = self._pytorch(model_id)
        check = RequestValidation()
        check.check(part >= 0, "[part] must be greater or equal to 0")
        check.check(total_parts > 0, "[total_parts] must be greater than 0")
        check.check(total_definition_length > 0, "[total_definition_length] must be greater than 0")
        check.check(part < total_parts, "[part] must be less than total_parts")
        check.raise_if_failed()
        upload = model.definition
        if upload is None or (upload.total_parts, upload.total_definition_length) != (
            total_parts,
            total_definition_length,
        ):
            upload = model.definition = DefinitionUpload(total_parts, total_definition_length)
        upload.parts.add(part)
        self.log.append("definition_part", "put definition part", model_id=model_id, part=part, total_parts=total_parts)

    def put_vocabulary(self, model_id: str, vocabulary: list[str]) -> None:
        model = self._pytorch(model_id)
        model.vocabulary_size = len(vocabulary)
        self.log.append("vocabulary", "put vocabulary", model_id=model_id, size=len(vocabulary))

    def delete(self, model_id: str, force: bool = False, cause: str = "delete model") -> None:
        if model_id not in self.state.models or model_id == LANG_IDENT_ID:
            raise not_found(f"Could not find trained model [{model_id}]")
        deployments = self.state.deployments_of(model_id)
        if not force:
            if self.state.pipelines_referencing(model_id):
                raise status_error(
                    409,
                    f"Cannot delete model [{model_id}] as it is still referenced by ingest processors; "
                    "use force to delete the model",
                )
            for alias in self.state.aliases_of(model_id):
                if self.state.pipelines_referencing(alias):
                    raise status_error(
                        409,
                        f"Cannot delete model [{model_id}] as it has a model_alias [{alias}] that is still "
                        "referenced by ingest processors; use force to delete the model",
                    )
            if deployments:
                raise status_error(
                    409, f"Cannot delete model [{model_id}] as it is currently deployed; use force to delete the model"
                )
        for assignment in deployments:
            if not assignment.stopping:
                self.master.begin_stop(assignment, cause)
        for alias in self.state.aliases_of(model_id):
            del self.state.aliases[alias]
        del self.state.models[model_id]
        self.log.append("model_deleted", cause, model_id=model_id)

    def _pytorch(self, model_id: str) -> TrainedModel:
        model = self.state.models.get(model_id)
        if model is None:
            raise not_found(f"Could not find trained model [{model_id}]")
        if not model.is_pytorch:
            raise status_error(
                400, f"cannot put definition for model [{model_id}] as its type is [{model.model_type}]"
            )
        return model

    # -- aliases --------------------------------------------------------------------

    def put_alias(self, model_id: str, alias: str, reassign: bool = False) -> list[str]:
        """Point `alias` at `model_id`; returns warnings (the input-fields one) if any."""
        check = RequestValidation()
        check.check(alias != model_id, f"model_alias [{alias}] cannot equal model_id [{model_id}]")
        problem = alias_problem(alias)
        check.check(problem is None, problem or "")
        check.raise_if_failed()
        if alias in self.state.models:
            raise status_error(400, "model_alias cannot be the same as an existing trained model_id")
        new_model = self.state.models.get(model_id)
        if new_model is None:
            raise not_found(f"No known trained model with model_id [{model_id}]")
        old_id = self.state.aliases.get(alias)
        warnings: list[str] = []
        if old_id is not None:
            if not reassign:
                raise status_error(
                    400,
                    f"cannot assign model_alias [{alias}] to model_id [{model_id}] as model_alias already refers "
                    f"to [{old_id}]. Set parameter [reassign] to [true] if model_alias should be reassigned.",
                )
            if old_id != model_id:
                warnings = self._check_reassign(alias, self.state.models[old_id], new_model)
        self.state.aliases[alias] = model_id
        self.log.append("alias_put", "put alias", model_alias=alias, model_id=model_id, previous=old_id)
        return warnings

    def _check_reassign(self, alias: str, old: TrainedModel, new: TrainedModel) -> list[str]:
        if old.task_type != new.task_type:
            raise status_error(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}] with inference config type "
                f"[{new.task_type}] from model [{old.model_id}] with type [{old.task_type}]",
            )
        if old.model_type != new.model_type:
            raise status_error(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}] with type [{new.model_type}] "
                f"from model [{old.model_id}] with type [{old.model_type}]",
            )
        if old.is_pytorch:
            self._check_deployment_progress(alias, old, new)
        return _input_field_warnings(old, new)

    def _check_deployment_progress(self, alias: str, old: TrainedModel, new: TrainedModel) -> None:
        old_deployments = self.state.deployments_of(old.model_id)
        new_deployments = self.state.deployments_of(new.model_id)
        if old_deployments and not new_deployments:
            raise status_error(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}] from model [{old.model_id}] "
                "as it is not yet deployed",
            )
        old_allocated = any(a.allocation_status().reached("started") for a in old_deployments)
        new_allocated = any(a.allocation_status().reached("started") for a in new_deployments)
        if old_allocated and not new_allocated:
            raise status_error(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}]  from model "
                f"[{old.model_id}] as it is not yet allocated to any nodes",
            )

    def delete_alias(self, model_id: str, alias: str) -> None:
        target = self.state.aliases.get(alias)
        if target is None:
            raise not_found(f"model_alias [{alias}] could not be found")
        if target != model_id:
            raise status_error(409, f"model_alias [{alias}] does not refer to provided model_id [{model_id}]")
        if self.state.pipelines_referencing(alias):
            raise status_error(
                409, f"Cannot delete model_alias [{alias}] as it is still referenced by ingest processors"
            )
        del self.state.aliases[alias]
        self.log.append("alias_deleted", "delete alias", model_alias=alias, model_id=model_id)

    # -- ingest pipelines -----------------------------------------------------------

    def put_pipeline(self, pipeline_id: str, body: dict[str, Any]) -> None:
        for processor in inference_processors(body):
            if not isinstance(processor.get("model_id"), str):
                raise MlError(400, "parse_exception", "[model_id] required property is missing",
                              metadata={"processor_type": "inference", "property_name": "model_id"})
        for name in sorted(inference_model_ids(body)):
            if self.state.resolve_model_id(name) is None and not self.is_inference_endpoint(name):
                raise not_found(f"Could not find trained model [{name}]")
        self.state.pipelines[pipeline_id] = body
        self.log.append("pipeline_put", "put pipeline", pipeline_id=pipeline_id)

    def delete_pipeline(self, pipeline_id: str) -> None:
        if pipeline_id not in self.state.pipelines:
            raise not_found(f"pipeline [{pipeline_id}] is missing")
        del self.state.pipelines[pipeline_id]
        self.log.append("pipeline_deleted", "delete pipeline", pipeline_id=pipeline_id)


def _input_field_warnings(old: TrainedModel, new: TrainedModel) -> list[str]:
    """Elasticsearch warns when the field sets differ by more than half (integer halves)."""
    old_fields, new_fields = set(old.field_names), set(new.field_names)
    half = len(old_fields) // 2
    if abs(len(old_fields) - len(new_fields)) > half or len(old_fields & new_fields) < half:
        return [
            f"The input fields for new model [{new.model_id}] and for old model [{old.model_id}] differ "
            "significantly, model results may change drastically."
        ]
    return []
