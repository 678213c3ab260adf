"""Where each ml-commons model is loaded and serving right now.

ml-commons answers "which nodes serve this model" from its nodes' caches; so does this
view: a model's workers are the nodes whose cache (`LocalModels`) holds it DEPLOYED.
Predict (routing, rate-limit buckets), the profile and the deployer read it; nothing keeps
a copy.
"""

from __future__ import annotations

from .local_models import LocalModels


class ModelWorkers:
    def __init__(self, local: LocalModels) -> None:
        self._local = local

    @property
    def generation(self) -> dict[str, int]:
        """Grows whenever a model's worker set changes (caches built per worker set check it)."""
        return self._local.generation

    def nodes(self, model_id: str) -> list[str]:
        """The model's worker node ids, sorted."""
        return self._local.workers(model_id)

    def models(self) -> list[str]:
        """The models with at least one worker, sorted."""
        return self._local.served()
