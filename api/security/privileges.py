"""Who may do what: Elasticsearch's cluster privileges and built-in roles, and the OpenSearch
security plugin's roles and action groups, over transport action names. Pure logic.

A privilege or permission is a set of action patterns (`*` matches anything). Elasticsearch
names, in a 403, the privileges that would grant the action, least privileged first: ordered
by how many of the other privileges each implies, then by name (`sortByAccessLevel`); the
order here is computed the same way over the privileges below.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Iterable, Mapping, Sequence

#: Elasticsearch cluster privileges (the ones ML, ingest and monitoring requests meet):
#: (granted patterns, excluded patterns).
ES_PRIVILEGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "all": (("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"), ()),
    "manage": (("cluster:*",), ("cluster:admin/xpack/security/*",)),
    "monitor": (("cluster:monitor/*",), ()),
    "manage_ml": (("cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"), ()),
    "monitor_ml": (("cluster:monitor/xpack/ml/*",), ()),
    "manage_inference": (
        (
            "cluster:admin/xpack/inference/*",
            "cluster:monitor/xpack/inference*",
            "cluster:admin/xpack/ml/trained_models/deployment/start",
            "cluster:admin/xpack/ml/trained_models/deployment/stop",
            "cluster:monitor/xpack/ml/trained_models/deployment/infer",
        ),
        (),
    ),
    "monitor_inference": (
        ("cluster:monitor/xpack/inference*", "cluster:monitor/xpack/ml/trained_models/deployment/infer"),
        (),
    ),
    "manage_ingest_pipelines": (("cluster:admin/ingest/pipeline/*",), ()),
    "manage_pipeline": (("cluster:admin/ingest/pipeline/*",), ()),
    "read_pipeline": (("cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"), ()),
}

#: Elasticsearch's built-in roles (cluster privileges); `superuser` may do anything.
ES_ROLES: dict[str, tuple[str, ...]] = {
    "superuser": ("all",),
    "machine_learning_admin": ("manage_ml",),
    "machine_learning_user": ("monitor_ml",),
    "ingest_admin": ("manage_pipeline",),
    "monitoring_user": ("monitor",),
}

#: The OpenSearch security plugin's action groups used by the roles below.
OS_ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "cluster_all": ("cluster:*",),
    "cluster_monitor": ("cluster:monitor/*",),
    "indices_all": ("indices:*",),
    "indices_monitor": ("indices:monitor/*",),
    "crud": ("indices:data/read*", "indices:data/write*"),
    "read": ("indices:data/read*",),
    "write": ("indices:data/write*",),
    "search": ("indices:data/read/search*",),
    "create_index": ("indices:admin/create",),
}

_ML_READ = tuple(
    f"cluster:admin/opensearch/ml/{name}"
    for name in (
        "config/get", "connectors/get", "connectors/search", "controllers/get", "model_groups/get",
        "model_groups/search", "models/get", "models/search", "profile/nodes", "stats/nodes", "tasks/get",
        "tasks/search", "tools/get", "tools/list",
    )
)

#: The security plugin's reserved roles: (cluster permissions, index permissions on `*`).
OS_ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "all_access": (("cluster:*",), ("indices:*",)),
    "ml_full_access": (("cluster:admin/opensearch/ml/*", "cluster_monitor"), ("indices_monitor",)),
    "ml_read_access": (_ML_READ, ()),
}
#: Names accepted for a role under another name (the first is not a reserved role upstream).
ROLE_ALIASES = {"ml_readonly_access": "ml_read_access"}
#: One administrator role in both dialects.
SUPERUSER_ROLES = frozenset({"superuser", "all_access"})


@dataclass(frozen=True)
class CustomRole:
    """A role from the users file: Elasticsearch `cluster` privileges (names or action
    patterns) and OpenSearch `cluster_permissions` / `index_permissions` (patterns or
    action groups; index permissions as `{"index_patterns": [...], "allowed_actions": [...]}`)."""

    cluster: tuple[str, ...] = ()
    cluster_permissions: tuple[str, ...] = ()
    index_permissions: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()


def _matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatchcase(action, pattern) for pattern in patterns)


def es_privilege_grants(name: str, action: str) -> bool:
    granted, excluded = ES_PRIVILEGES.get(name, ((name,) if ":" in name else (), ()))
    return _matches(granted, action) and not _matches(excluded, action)


def _implies(a: str, b: str) -> bool:
    """Privilege `a` grants everything `b` does (pattern cover, exclusions considered)."""
    granted_a, excluded_a = ES_PRIVILEGES[a]
    granted_b, _ = ES_PRIVILEGES[b]
    return all(_matches(granted_a, p) and not _matches(excluded_a, p) for p in granted_b)


def _access_level(name: str) -> int:
    return sum(1 for other in ES_PRIVILEGES if other != name and _implies(name, other))


def granting_privileges(action: str) -> list[str]:
    """The cluster privileges that grant `action`, least privileged first (ES's order)."""
    names = [name for name in ES_PRIVILEGES if es_privilege_grants(name, action)]
    return sorted(names, key=lambda name: (_access_level(name), name))


def es_allows(roles: Sequence[str], custom: Mapping[str, CustomRole], action: str) -> bool:
    """Whether Elasticsearch's roles `roles` grant the cluster action `action`."""
    for role in roles:
        if role in SUPERUSER_ROLES:
            return True
        privileges = ES_ROLES.get(role) or (custom[role].cluster if role in custom else ())
        if any(es_privilege_grants(p, action) for p in privileges):
            return True
    return False


def _expand(permissions: Iterable[str]) -> list[str]:
    return [pattern for p in permissions for pattern in OS_ACTION_GROUPS.get(p, (p,))]


def os_allows(roles: Sequence[str], custom: Mapping[str, CustomRole], action: str, index: str | None = None) -> bool:
    """Whether the security plugin's roles `roles` grant `action` (on `index`, for index
    actions)."""
    for role in roles:
        role = ROLE_ALIASES.get(role, role)
        if role in SUPERUSER_ROLES:
            return True
        if role in OS_ROLES:
            cluster, on_any_index = OS_ROLES[role]
            index_grants: list[tuple[tuple[str, ...], tuple[str, ...]]] = [(("*",), on_any_index)]
        elif role in custom:
            cluster = custom[role].cluster_permissions
            index_grants = list(custom[role].index_permissions)
        else:
            continue
        if index is None and _matches(_expand(cluster), action):
            return True
        if index is not None and any(
            _matches(patterns, index) and _matches(_expand(actions), action) for patterns, actions in index_grants
        ):
            return True
    return False
