"""Which models an id expression names (comma lists, wildcards, `_all`, aliases, tags).

Elasticsearch's rule: an exact id that names nothing is always an error; a wildcard that
matches nothing is an error only when `allow_no_match` is false.
"""

from __future__ import annotations

from typing import Iterable

from .errors import not_found
from .ids import expand
from .models import TrainedModel
from .state import ClusterState


def expand_models(
    state: ClusterState, expression: str | None, allow_no_match: bool = True, tags: Iterable[str] = ()
) -> list[TrainedModel]:
    """Models named by `expression`, sorted by id; aliases name the model they point to."""
    names, missing = expand(expression, [*state.models, *state.aliases])
    exact_missing = [token for token in missing if "*" not in token]
    if exact_missing or (missing and not allow_no_match):
        raise not_found(f"Could not find trained model [{(exact_missing or missing)[0]}]")
    ids = {state.resolve_model_id(name) for name in names}
    wanted = set(tags)
    models = [state.models[i] for i in sorted(i for i in ids if i is not None)]
    return [m for m in models if wanted <= set(m.tags)]
