"""The users file (`mlsim serve --users FILE`): users with passwords and roles, optional
custom roles and API keys; checking credentials.

    {"users": {"elastic": {"password": "changeme", "roles": ["superuser"]},
               "ml": {"password": "s3cret", "roles": ["machine_learning_admin", "ml_full_access"]}},
     "roles": {"ml_reader": {"cluster": ["monitor_ml"], "cluster_permissions": ["cluster_monitor"]}},
     "api_keys": {"VuaCfGcBCdbkQm-e5aOx": {"key": "ui2lp2axTNmsyakw9tvNnw", "user": "ml"}}}
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .privileges import CustomRole


class UsersError(ValueError):
    """The users file cannot be used (says where)."""


@dataclass(frozen=True)
class User:
    name: str
    password: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as: a user, or an API key of a user (with its roles)."""

    user: User
    api_key_id: str | None = None


@dataclass(frozen=True)
class Users:
    users: dict[str, User]
    roles: dict[str, CustomRole]
    api_keys: dict[str, tuple[str, str]]  # id -> (key, user name)

    def password_matches(self, name: str, password: str) -> User | None:
        user = self.users.get(name)
        if user is None:
            hmac.compare_digest(password, password)  # same work either way
            return None
        return user if hmac.compare_digest(user.password.encode(), password.encode()) else None

    def api_key_matches(self, key_id: str, key: str) -> Principal | None:
        entry = self.api_keys.get(key_id)
        if entry is None or not hmac.compare_digest(entry[0].encode(), key.encode()):
            return None
        return Principal(self.users[entry[1]], key_id)


def load_users(path: str) -> Users:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsersError(f"{path}: cannot read users file: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsersError(f"{path}: invalid JSON: {exc}") from None
    try:
        return parse_users(data)
    except UsersError as exc:
        raise UsersError(f"{path}: {exc}") from None


def parse_users(data: Any) -> Users:
    _object(data, "users file", ("users", "roles", "api_keys"))
    users_data = _object(data.get("users"), "users", None)
    if not users_data:
        raise UsersError("[users] must name at least one user")
    users = {}
    for name, spec in users_data.items():
        _object(spec, f"users.{name}", ("password", "roles"))
        password, roles = spec.get("password"), spec.get("roles", [])
        if not isinstance(password, str) or not password:
            raise UsersError(f"users.{name}.password: must be a non-empty string")
        users[name] = User(name, password, _strings(roles, f"users.{name}.roles"))
    roles = {}
    for name, spec in _object(data.get("roles", {}), "roles", None).items():
        _object(spec, f"roles.{name}", ("cluster", "cluster_permissions", "index_permissions"))
        grants = []
        for i, grant in enumerate(spec.get("index_permissions", [])):
            where = f"roles.{name}.index_permissions[{i}]"
            _object(grant, where, ("index_patterns", "allowed_actions"))
            grants.append((_strings(grant.get("index_patterns", []), where), _strings(grant.get("allowed_actions", []), where)))
        roles[name] = CustomRole(
            _strings(spec.get("cluster", []), f"roles.{name}.cluster"),
            _strings(spec.get("cluster_permissions", []), f"roles.{name}.cluster_permissions"),
            tuple(grants),
        )
    api_keys = {}
    for key_id, spec in _object(data.get("api_keys", {}), "api_keys", None).items():
        _object(spec, f"api_keys.{key_id}", ("key", "user"))
        if not isinstance(spec.get("key"), str) or spec.get("user") not in users:
            raise UsersError(f"api_keys.{key_id}: needs a string [key] and the [user] it belongs to")
        api_keys[key_id] = (spec["key"], spec["user"])
    return Users(users, roles, api_keys)


def _object(value: Any, where: str, known: tuple[str, ...] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsersError(f"{where}: must be a JSON object")
    for key in value:
        if known is not None and key not in known:
            raise UsersError(f"{where}: unknown key [{key}]")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsersError(f"{where}: must be a list of strings")
    return tuple(value)
