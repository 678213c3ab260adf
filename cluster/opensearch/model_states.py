"""Groups of ml-commons model states that several parts test a model document against
(with the deprecated LOAD* names older documents may carry)."""

from __future__ import annotations

DEPLOYING_STATES = frozenset({"DEPLOYING", "LOADING"})
DEPLOYED_STATES = frozenset({"DEPLOYED", "PARTIALLY_DEPLOYED", "LOADED", "PARTIALLY_LOADED"})
#: Some node loads or serves the model: delete and connector update refuse it, a node join
#: redeploys it.
ON_NODES_STATES = DEPLOYING_STATES | DEPLOYED_STATES
