"""Autoscaling policies as Elasticsearch stores and checks them (`PUT /_autoscaling/policy`).

Only the `ml` decider is simulated, so a policy for other roles can be stored only with no
deciders applying to it and is refused as Elasticsearch refuses a policy without deciders.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import MlError, illegal_argument, not_found, validation_failed
from ..timevalue import parse_time_value
from .decider import DeciderConfig

ML_DECIDER = "ml"
ML_DECIDER_SETTINGS = ("down_scale_delay", "num_analytics_jobs_in_queue", "num_anomaly_jobs_in_queue")
#: `DiscoveryNodeRole.roleNames()`.
ROLE_NAMES = frozenset({
    "data", "data_cold", "data_content", "data_frozen", "data_hot", "data_warm", "index", "ingest", "master",
    "ml", "remote_cluster_client", "search", "transform", "voting_only",
})
INVALID_FILENAME_CHARS = '\\/*?"<>| ,'
INVALID_FILENAME_TEXT = '[\\, /, *, ?, ", <, >, |,  , ,]'


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    roles: tuple[str, ...]
    deciders: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "deciders": {k: dict(v) for k, v in sorted(self.deciders.items())}}

    def effective_deciders(self) -> dict[str, dict[str, str]]:
        """The configured deciders plus the default-on ones that apply to the roles."""
        deciders = dict(self.deciders)
        if ML_DECIDER not in deciders and _ml_applies(self.roles):
            deciders[ML_DECIDER] = {}
        return deciders

    def ml_config(self) -> DeciderConfig:
        return ml_decider_config(self.effective_deciders().get(ML_DECIDER, {}))


def _ml_applies(roles: tuple[str, ...]) -> bool:
    return not roles or ML_DECIDER in roles


def settings_text(value: Any) -> str:
    """A settings value as Elasticsearch keeps it: a string (`true`, `2`, `1h`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if math.isfinite(value) else str(value)
    return str(value)


def ml_decider_config(raw: Mapping[str, str]) -> DeciderConfig:
    """The `ml` decider's settings, each checked as its Setting parses it."""
    for key in raw:
        if key not in ML_DECIDER_SETTINGS:
            raise illegal_argument(f"unknown setting [{key}] for decider [{ML_DECIDER}]")
    values: dict[str, Any] = {}
    for key in ("num_anomaly_jobs_in_queue", "num_analytics_jobs_in_queue"):
        if key in raw:
            values[key] = _int_setting(key, raw[key])
    delay_text = raw.get("down_scale_delay", "1h")
    try:
        delay = parse_time_value(delay_text, "down_scale_delay")
    except ValueError as exc:
        raise illegal_argument(str(exc)) from None
    return DeciderConfig(
        down_scale_delay_ms=int(round(delay * 1000)),
        down_scale_delay_text=delay_text.strip(),
        raw=dict(sorted(raw.items())),
        **values,
    )


def _int_setting(key: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise illegal_argument(f"Failed to parse value [{text}] for setting [{key}]") from None
    if value < 0:
        raise illegal_argument(f"Failed to parse value [{text}] for setting [{key}] must be >= 0")
    return value


class PolicyStore:
    """The cluster's autoscaling metadata: policies by name."""

    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}

    def put(self, name: str, roles: list[str] | None, deciders: dict[str, dict[str, Any]] | None) -> Policy:
        """Create or update (missing roles / deciders keep the stored ones); nothing is
        stored when anything is refused."""
        messages = [role for role in roles or () if role not in ROLE_NAMES]
        if any(c in INVALID_FILENAME_CHARS for c in name):
            messages.append(f"name must not contain the following characters {INVALID_FILENAME_TEXT}")
        if messages:
            raise validation_failed(messages)
        existing = self.policies.get(name)
        if existing is None and roles is None:
            raise illegal_argument(f"new policy {name} with no roles defined, must provide empty list for no roles")
        stored_roles = existing.roles if existing is not None else ()
        stored_deciders = existing.deciders if existing is not None else {}
        policy = Policy(
            name,
            tuple(sorted(set(roles))) if roles is not None else stored_roles,
            {k: {s: settings_text(v) for s, v in sorted(c.items())} for k, c in sorted(deciders.items())}
            if deciders is not None
            else stored_deciders,
        )
        self.validate(policy)
        self.policies[name] = policy
        return policy

    @staticmethod
    def validate(policy: Policy) -> None:
        for name, config in policy.deciders.items():
            if name != ML_DECIDER:
                raise illegal_argument(f"unknown decider [{name}]")
            if not _ml_applies(policy.roles):
                raise illegal_argument(
                    f"decider [{name}] not applicable to policy with roles [ [{', '.join(policy.roles)}]]"
                )
            ml_decider_config(config)
        if not policy.effective_deciders():
            raise illegal_argument(
                f"no default nor user configured deciders for policy [{policy.name}] with roles "
                f"[[{', '.join(policy.roles)}]]"
            )

    def get(self, name: str) -> Policy:
        policy = self.policies.get(name)
        if policy is None:
            raise missing(name)
        return policy

    def delete(self, name: str) -> list[str]:
        """Delete a policy or every policy a `*` pattern matches (none matching is fine)."""
        if "*" in name:
            names = [n for n in self.policies if fnmatch.fnmatchcase(n, name)]
        elif name in self.policies:
            names = [name]
        else:
            raise missing(name)
        for n in names:
            del self.policies[n]
        return names


def missing(name: str) -> MlError:
    return not_found(f"autoscaling policy with name [{name}] does not exist")
