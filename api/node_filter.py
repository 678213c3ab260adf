"""Node filters as Elasticsearch resolves them in `_nodes/{node_id}`, `_ml/memory/{node_id}`
and `_cat/nodes`: ids, names, wildcards, `_all`, `_local` / `_master`, role filters."""

from __future__ import annotations

import fnmatch

from cluster.node_info import NODE_ROLES
from cluster.state import ClusterState


def select_nodes(state: ClusterState, spec: str | None) -> list[str]:
    """Ids of the nodes `spec` names, in id order; unknown names select nothing (ES ignores them)."""
    ids = sorted(state.nodes)
    if spec is None or spec in ("", "_all"):
        return ids
    chosen: set[str] = set()
    for token in (t.strip() for t in spec.split(",") if t.strip()):
        if token in ("_all", "*"):
            chosen.update(ids)
        elif token in ("_local", "_master"):
            chosen.update(ids[:1])
        elif ":" in token:
            role, _, value = token.partition(":")
            if role in NODE_ROLES and value in ("true", "false"):
                if value == "true":
                    chosen.update(ids)
            else:
                chosen.update(n for n in ids if state.nodes[n].spec.attributes.get(role) == value
                              or (role == "zone" and state.nodes[n].spec.zone == value))
        else:
            chosen.update(n for n in ids if fnmatch.fnmatchcase(n, token)
                          or fnmatch.fnmatchcase(state.nodes[n].spec.name, token))
    return [n for n in ids if n in chosen]
