"""Models Elasticsearch brings along: the built-in language identifier and the
Elastic-provided packages a PUT with only `input` installs by downloading them.

`lang_ident_model_1` ships inside every cluster (a resource, not an index document), so it
is listed and counted by GET like any other model. The packages (ELSER v2, multilingual E5
small, and their linux-x86_64 builds) come from Elastic's model server; the simulator takes
their sizes and configs from here and the download's length from the size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import LANG_IDENT, PYTORCH, TrainedModel

LANG_IDENT_ID = "lang_ident_model_1"
#: Simulated download speed from Elastic's model server (bytes per simulated second).
DOWNLOAD_BYTES_PER_SECOND = 50 * 2**20


def lang_ident_model() -> TrainedModel:
    """The built-in language identifier with the fields ES reports for it."""
    return TrainedModel(
        model_id=LANG_IDENT_ID,
        model_type=LANG_IDENT,
        inference_config={
            "classification": {
                "num_top_classes": 0,
                "top_classes_results_field": "top_classes",
                "results_field": "predicted_value",
                "num_top_feature_importance_values": 0,
                "prediction_field_type": "string",
            }
        },
        field_names=["text"],
        create_time_ms=1575548914594,
        description="Model used for identifying language from arbitrary input text.",
        tags=["lang_ident", "prepackaged"],
        declared_size_bytes=1053992,
        estimated_operations=39629,
        created_by="_xpack",
        version="7.6.0",
        license_level="basic",
    )


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """What Elastic's model server says about one package."""

    description: str
    task_type: str
    task_settings: dict[str, Any]
    size_bytes: int
    platform_architecture: str | None = None

    def config(self) -> dict[str, Any]:
        """The PUT config the package fills in (the user's `input` is kept)."""
        config: dict[str, Any] = {
            "model_type": PYTORCH,
            "description": self.description,
            "inference_config": {self.task_type: dict(self.task_settings)},
            "model_size_bytes": self.size_bytes,
        }
        if self.platform_architecture:
            config["platform_architecture"] = self.platform_architecture
        return config

    @property
    def download_seconds(self) -> float:
        return self.size_bytes / DOWNLOAD_BYTES_PER_SECOND


_ELSER = "Elastic Learned Sparse EncodeR v2"
_E5 = "E5 small multilingual"
ELSER_BYTES = 438_123_914
E5_SMALL_BYTES = 470_116_052
PACKAGES: dict[str, ModelPackage] = {
    ".elser_model_2": ModelPackage(_ELSER, "text_expansion", {}, ELSER_BYTES),
    ".elser_model_2_linux-x86_64": ModelPackage(
        f"{_ELSER}, optimized for linux-x86_64", "text_expansion", {}, ELSER_BYTES, "linux-x86_64"
    ),
    ".multilingual-e5-small": ModelPackage(_E5, "text_embedding", {"embedding_size": 384}, E5_SMALL_BYTES),
    ".multilingual-e5-small_linux-x86_64": ModelPackage(
        f"{_E5}, optimized for linux-x86_64", "text_embedding", {"embedding_size": 384}, E5_SMALL_BYTES,
        "linux-x86_64",
    ),
}
