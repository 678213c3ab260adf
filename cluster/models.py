"""Trained models as the cluster stores them: configs, definitions, vocabularies.

A PyTorch model's size is its declared `total_definition_length` (or `model_size_bytes` in
the config): the simulator never needs the real bytes, so a 300 MB model costs nothing to
"upload" while memory accounting sees 300 MB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PYTORCH = "pytorch"
TREE_ENSEMBLE = "tree_ensemble"
LANG_IDENT = "lang_ident"
MODEL_TYPES = (PYTORCH, TREE_ENSEMBLE, LANG_IDENT)

NLP_TASK_TYPES = (
    "ner",
    "text_embedding",
    "text_expansion",
    "text_classification",
    "zero_shot_classification",
    "fill_mask",
    "pass_through",
    "question_answering",
    "text_similarity",
)
ANALYTICS_TASK_TYPES = ("regression", "classification", "learning_to_rank")
#: ES fills this input in for a PyTorch model PUT without one (TrainedModelType.PYTORCH's
#: default input; its own REST tests infer on `{"input": ...}` documents).
PYTORCH_DEFAULT_FIELD = "input"


@dataclass(slots=True)
class DefinitionUpload:
    """Parts of a PyTorch definition received so far."""

    total_parts: int
    total_definition_length: int
    parts: set[int] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total_parts


@dataclass(slots=True)
class TrainedModel:
    model_id: str
    model_type: str
    inference_config: dict[str, Any]
    field_names: list[str]
    create_time_ms: int
    description: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    declared_size_bytes: int | None = None
    per_deployment_memory_bytes: int = 0
    per_allocation_memory_bytes: int = 0
    definition: DefinitionUpload | None = None
    inline_definition_bytes: int = 0
    vocabulary_size: int | None = None
    estimated_operations: int = 0
    platform_architecture: str | None = None
    prefix_strings: dict[str, str] | None = None
    #: The inline definition as given (tree models), served back by `include=definition`.
    definition_doc: dict[str, Any] | None = None
    compressed_definition: str | None = None
    created_by: str = "api_user"
    version: str | None = None
    license_level: str = "platinum"
    #: An Elastic-provided model whose simulated download has not finished yet.
    downloading: bool = False

    @property
    def task_type(self) -> str:
        """The single key of `inference_config`: ner, regression, …"""
        return next(iter(self.inference_config), "")

    @property
    def is_pytorch(self) -> bool:
        return self.model_type == PYTORCH

    @property
    def model_bytes(self) -> int:
        if self.declared_size_bytes is not None:
            return self.declared_size_bytes
        if self.definition is not None:
            return self.definition.total_definition_length
        return self.inline_definition_bytes

    @property
    def fully_defined(self) -> bool:
        if self.is_pytorch:
            return not self.downloading and self.definition is not None and self.definition.complete
        return self.inline_definition_bytes > 0 or self.model_type == LANG_IDENT

    @property
    def task_settings(self) -> dict[str, Any]:
        return self.inference_config.get(self.task_type) or {}


def model_from_config(
    model_id: str, body: dict[str, Any], create_time_ms: int, estimated_operations: int = 0
) -> TrainedModel:
    """Build a model from a PUT body already checked by `cluster.model_validation`."""
    model_type = body.get("model_type") or (PYTORCH if _looks_nlp(body) else TREE_ENSEMBLE)
    default_fields = [PYTORCH_DEFAULT_FIELD] if model_type == PYTORCH else []
    metadata = dict(body.get("metadata") or {})
    definition = body.get("definition")
    compressed = body.get("compressed_definition")
    inline_bytes = 0
    if definition is not None:
        inline_bytes = len(json.dumps(definition, separators=(",", ":")))
    elif compressed is not None:
        inline_bytes = len(compressed)
    return TrainedModel(
        model_id=model_id,
        model_type=model_type,
        inference_config=dict(body["inference_config"]),
        field_names=list((body.get("input") or {}).get("field_names", default_fields)),
        create_time_ms=create_time_ms,
        description=body.get("description", ""),
        tags=list(body.get("tags") or []),
        metadata=metadata,
        declared_size_bytes=body.get("model_size_bytes"),
        per_deployment_memory_bytes=int(metadata.get("per_deployment_memory_bytes", 0)),
        per_allocation_memory_bytes=int(metadata.get("per_allocation_memory_bytes", 0)),
        inline_definition_bytes=inline_bytes,
        estimated_operations=estimated_operations,
        platform_architecture=body.get("platform_architecture"),
        prefix_strings=body.get("prefix_strings"),
        definition_doc=definition,
        compressed_definition=compressed,
    )


def _looks_nlp(body: dict[str, Any]) -> bool:
    return any(key in NLP_TASK_TYPES for key in body.get("inference_config", {}))
