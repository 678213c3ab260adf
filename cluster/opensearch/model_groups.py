"""ml-commons model groups: register, get, update, delete, search, and version numbering.

A group holds the versions of a model; registering a model into it bumps `latest_version`,
which becomes the model's `model_version`. The simulated cluster runs without the Security
plugin, so, as in ml-commons on such a cluster, every group is `public` and the access
parameters (`access_mode`, `backend_roles`, `add_all_backend_roles`) are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

from . import xcontent
from .documents import MODEL_GROUP_INDEX, MODEL_INDEX
from .errors import caller_error, illegal_argument, os_status, parse_exception
from .ids import new_document_id
from .query_dsl import FieldMapping
from .search import parse_request, run_search

if TYPE_CHECKING:
    from .service import MlCommons

ACCESS_MODES = ("public", "private", "restricted")
TEXT_FIELDS = FieldMapping(frozenset({"name", "description", "backend_roles", "owner.name", "owner.backend_roles",
                                      "owner.roles", "owner.custom_attribute_names"}), frozenset({"owner"}))
ACCESS_CONTROL_DISABLED = (
    "You cannot specify model access control parameters because the Security plugin or model access control is "
    "disabled on your cluster."
)


def access_mode_of(body: Mapping[str, Any], name: str = "access_mode", lowercase: bool = True) -> str | None:
    """ml-commons' `AccessMode.from`: a lookup that yields nothing (not an error) for an unknown value."""
    value = xcontent.text(body, name)
    if value is None:
        return None
    value = value.lower() if lowercase else value
    return value if value in ACCESS_MODES else None


def refuse_access_control(access_mode: str | None, add_all_backend_roles: bool | None,
                          backend_roles: list[str] | None) -> None:
    """Without the Security plugin, any access-control parameter is an error."""
    if access_mode is not None or add_all_backend_roles is not None or backend_roles:
        raise illegal_argument(ACCESS_CONTROL_DISABLED)


class GroupInput(NamedTuple):
    """The fields a register or an update body is read for (ml-commons' register and update
    inputs parse the same ones), in the order they are read."""

    name: str | None
    description: str | None
    backend_roles: list[str] | None
    access_mode: str | None
    add_all_backend_roles: bool | None

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> GroupInput:
        return cls(
            xcontent.text(body, "name"), xcontent.text(body, "description"),
            xcontent.string_list(body, "backend_roles"), access_mode_of(body),
            xcontent.boolean(body, "add_all_backend_roles"),
        )


class ModelGroups:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    @property
    def index(self):
        return self.ml.store[MODEL_GROUP_INDEX]

    # -- register ---------------------------------------------------------------------

    def register(self, body: Mapping[str, Any]) -> str:
        """`POST /model_groups/_register`; returns the new group's id."""
        spec = GroupInput.parse(body)
        if spec.name is None:
            raise caller_error("null_pointer_exception", "model group name must not be null")
        return self.create(spec.name, spec.description, spec.access_mode, spec.add_all_backend_roles,
                           spec.backend_roles)

    def create(self, name: str, description: str | None, access_mode: str | None = None,
               add_all_backend_roles: bool | None = None, backend_roles: list[str] | None = None) -> str:
        """A new group after ml-commons' checks: unique name first, then access control."""
        taken = self.find_by_name(name)
        if taken is not None:
            raise illegal_argument(f"The name you provided is already being used by a model group with ID: {taken}.")
        refuse_access_control(access_mode, add_all_backend_roles, backend_roles)
        now = self.ml.clock.millis()
        doc: dict[str, Any] = {"name": name, "latest_version": 0}
        if description is not None:
            doc["description"] = description
        doc.update({"access": "public", "created_time": now, "last_updated_time": now})
        group_id = new_document_id(self.ml.rng)
        self.index.index(group_id, doc)
        self.ml.log.append("os_model_group_registered", "model group registered", model_group_id=group_id, name=name)
        return group_id

    def find_by_name(self, name: str) -> str | None:
        """The id of the group with exactly this name (the `name.keyword` term query ml-commons runs)."""
        for group_id, stored in self.index.docs.items():
            if stored.source.get("name") == name:
                return group_id
        return None

    # -- read ------------------------------------------------------------------------

    def get(self, group_id: str) -> dict[str, Any] | None:
        return self.index.get(group_id)

    def get_or_404(self, group_id: str) -> dict[str, Any]:
        """`GET /model_groups/{id}`."""
        group = self.get(group_id)
        if not self.index.exists:
            raise os_status(404, "Failed to find model group index")
        if group is None:
            raise os_status(404, f"Failed to find model group with the provided model group id: {group_id}")
        return group

    def search(self, body: Mapping[str, Any] | None) -> dict[str, Any]:
        return run_search(self.index, parse_request(body, TEXT_FIELDS, versions=True))

    # -- write -----------------------------------------------------------------------

    def bump_version(self, group_id: str) -> int:
        """Increment the group's `latest_version` (a new model version joins it); returns it."""
        group = self.get(group_id)
        if group is None:
            raise os_status(404, "Model group not found")
        version = int(group.get("latest_version", 0)) + 1
        self.index.update(group_id, {"latest_version": version, "last_updated_time": self.ml.clock.millis()})
        return version

    def update(self, group_id: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        """`PUT /model_groups/{id}`: name (still unique) and description; `{"status": "Updated"}`."""
        if body is None:
            raise parse_exception("Model group request has empty body")
        spec = GroupInput.parse(body)
        name, description = spec.name, spec.description
        group = self.get(group_id)
        if not self.index.exists:
            raise os_status(404, "Failed to find model group")
        if group is None:
            raise os_status(404, f"Failed to find model group with the provided model group id: {group_id}")
        refuse_access_control(spec.access_mode, spec.add_all_backend_roles, spec.backend_roles)
        changes: dict[str, Any] = {}
        if description and description.strip():
            changes["description"] = description
        if name and name.strip() and name != group["name"]:
            taken = self.find_by_name(name)
            if taken is not None:
                raise illegal_argument(
                    f"The name you provided is already being used by another model with ID: {taken}. "
                    "Please provide a different name"
                )
            changes["name"] = name
        if changes:
            self.index.update(group_id, changes)
        return {"status": "Updated"}

    def delete(self, group_id: str) -> dict[str, Any]:
        """`DELETE /model_groups/{id}`: the index's delete response, answered 200 even when it is
        `not_found` (ml-commons renders it without its status); 404 only while the index does
        not exist yet."""
        if not self.index.exists:
            raise os_status(404, "Failed to find model group")
        if any(stored.source.get("model_group_id") == group_id for stored in self.ml.store[MODEL_INDEX].docs.values()):
            raise os_status(409, "Cannot delete the model group when it has associated model versions")
        return self.index.delete(group_id)
