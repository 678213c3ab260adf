"""ml-commons connectors: the body checks, and create, get, update, delete, search.

A connector describes how a remote model is called (protocol, parameters, credential,
actions). Standalone connectors live in `.plugins-ml-connector`; inline ones are stored in
the model document. Both are normalized here into ml-commons' document form. Credentials are
kept in the document (ml-commons stores them encrypted) and never shown: GET and search strip
them, and the system index cannot be read directly.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

from . import xcontent
from .documents import CONNECTOR_INDEX, MODEL_INDEX
from .errors import MlError, caller_error, illegal_argument, os_status, parse_exception, require_remote_inference
from .ids import new_document_id
from .model_groups import ACCESS_CONTROL_DISABLED, access_mode_of
from .model_states import ON_NODES_STATES
from .query_dsl import FieldMapping
from .search import parse_request, run_search

if TYPE_CHECKING:
    from .service import MlCommons

PROTOCOLS = ("aws_sigv4", "http", "google_cloud", "mcp_sse", "mcp_streamable_http")
MCP_PROTOCOLS = ("mcp_sse", "mcp_streamable_http")
ACTION_TYPES = ("PREDICT", "EXECUTE", "BATCH_PREDICT", "CANCEL_BATCH_PREDICT", "BATCH_PREDICT_STATUS")
#: `ConnectorClientConfig` fields and the defaults its parser fills in.
CLIENT_CONFIG_DEFAULTS = {"max_connection": 30, "connection_timeout": 1000, "read_timeout": 10000,
                          "retry_backoff_millis": 200, "retry_timeout_seconds": 30, "max_retry_times": 0}
RETRY_BACKOFF_POLICIES = ("constant", "exponential_equal_jitter", "exponential_full_jitter")
FIELD_ORDER = ("name", "version", "description", "protocol", "parameters", "credential", "actions", "created_time",
               "last_updated_time", "client_config", "url", "headers")
TEXT_FIELDS = FieldMapping(frozenset({"name", "description", "backend_roles", "owner.name", "owner.backend_roles",
                                      "owner.roles", "owner.custom_attribute_names"}), frozenset({"owner"}))


def unsupported_protocol() -> MlError:
    return illegal_argument(f"Unsupported connector protocol. Please use one of [{', '.join(PROTOCOLS)}]")


def in_field_order(connector: dict[str, Any]) -> dict[str, Any]:
    """A connector document with its fields in `HttpConnector.toXContent`'s order."""
    return {key: connector[key] for key in FIELD_ORDER if key in connector}


def without_credential(connector: dict[str, Any]) -> dict[str, Any]:
    """A connector as GET and search show it (ml-commons' `removeCredential`)."""
    return {key: value for key, value in connector.items() if key != "credential"}


def parse_action(raw: Any) -> dict[str, Any]:
    """One `actions[]` entry as `ConnectorAction.parse` reads it, in document form."""
    if not isinstance(raw, dict):
        raise xcontent.expecting("START_OBJECT", raw)
    action_type = xcontent.text(raw, "action_type")
    if action_type is not None:
        action_type = action_type.upper()
        if action_type not in ACTION_TYPES:
            raise illegal_argument(f"No enum constant org.opensearch.ml.common.connector.ConnectorAction.ActionType."
                                   f"{action_type}")
    name = xcontent.text(raw, "name")
    fields: dict[str, Any] = {
        "action_type": action_type,
        "method": xcontent.text(raw, "method"),
        "url": xcontent.text(raw, "url"),
        "headers": xcontent.string_map(raw, "headers"),
        "request_body": xcontent.text(raw, "request_body"),
        "pre_process_function": xcontent.text(raw, "pre_process_function"),
        "post_process_function": xcontent.text(raw, "post_process_function"),
    }
    for field, label in (("action_type", "action type"), ("url", "url"), ("method", "method")):
        if fields[field] is None:
            raise illegal_argument(f"{label} can't be null")
    if name is not None and name.upper() in ACTION_TYPES:
        raise illegal_argument(f"name can't be one of action type [{', '.join(ACTION_TYPES)}]")
    action = {key: value for key, value in fields.items() if value is not None}
    if name is not None:
        action["name"] = name
    return action


def parse_client_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    config = {key: xcontent.integer(raw, key) for key in CLIENT_CONFIG_DEFAULTS}
    config = {key: default if config[key] is None else config[key] for key, default in CLIENT_CONFIG_DEFAULTS.items()}
    policy = (xcontent.text(raw, "retry_backoff_policy") or "constant").lower()
    if policy not in RETRY_BACKOFF_POLICIES:
        raise illegal_argument(f"Unsupported retry backoff policy: {policy}")
    config["retry_backoff_policy"] = policy
    return config


def parse_connector(body: Mapping[str, Any]) -> dict[str, Any]:
    """The connector fields of a body, type-checked, in ml-commons' document order."""
    actions = body.get("actions")
    if actions is not None and not isinstance(actions, list):
        raise xcontent.expecting("START_ARRAY", actions)
    client_config = xcontent.obj(body, "client_config")
    fields: dict[str, Any] = {
        "name": xcontent.text(body, "name"),
        "version": xcontent.text(body, "version"),
        "description": xcontent.text(body, "description"),
        "protocol": xcontent.text(body, "protocol"),
        "parameters": xcontent.parameter_map(body, "parameters"),
        "credential": xcontent.string_map(body, "credential"),
        "actions": None if actions is None else [parse_action(action) for action in actions],
        "client_config": None if client_config is None else parse_client_config(client_config),
        "url": xcontent.text(body, "url"),
        "headers": xcontent.string_map(body, "headers"),
    }
    return {key: value for key, value in fields.items() if value is not None}


def check_protocol_rules(connector: Mapping[str, Any]) -> None:
    """What the connector classes check when they are built (AWS signing needs keys, region, service)."""
    protocol = connector.get("protocol")
    if protocol not in PROTOCOLS:
        raise unsupported_protocol()
    if protocol == "aws_sigv4":
        credential, parameters = connector.get("credential") or {}, connector.get("parameters") or {}
        if "access_key" not in credential or "secret_key" not in credential:
            raise illegal_argument("Missing credential")
        for field, label in (("service_name", "service name"), ("region", "region")):
            if field not in credential and field not in parameters:
                raise illegal_argument(f"Missing {label}")


_PARAMETER = re.compile(r"\$\{parameters\.([^}]+)\}")
NOT_TRUSTED = "Connector URL is not matching the trusted connector endpoint regex"


def check_trusted_endpoints(connector: Mapping[str, Any], regexes: tuple[str, ...]) -> None:
    """ml-commons' `validateConnectorURL`: every action's URL, its `${parameters.*}` filled in
    (unknown ones left as they are), must fully match one of the trusted regexes; an MCP
    connector's `url` alike. The regexes passed the setting's ReDoS guard when they were set."""
    parameters = connector.get("parameters") or {}
    if connector.get("protocol") in MCP_PROTOCOLS:
        urls = [connector.get("url") or ""]
    else:
        if connector.get("actions") is None:
            raise illegal_argument("No actions configured for this connector")
        if not regexes:
            raise illegal_argument("Trusted connector endpoints regex is not configured. Please set "
                                   "plugins.ml_commons.trusted_connector_endpoints_regex.")
        urls = [_PARAMETER.sub(lambda m: str(parameters.get(m.group(1), m.group(0))), action.get("url", ""))
                for action in connector["actions"]]
    for url in urls:
        if not any(re.fullmatch(regex, url) for regex in regexes):
            raise illegal_argument(NOT_TRUSTED)


def predict_action(connector: Mapping[str, Any]) -> dict[str, Any] | None:
    """The connector's PREDICT action (what a remote model calls), if any."""
    return next((a for a in connector.get("actions") or [] if a.get("action_type") == "PREDICT"), None)


class Connectors:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    @property
    def index(self):
        return self.ml.store[CONNECTOR_INDEX]

    def validate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """An inline connector (model register, update model): ml-commons builds it from the
        body's protocol without the standalone create checks; returns the document form."""
        if not isinstance(body, Mapping):
            raise xcontent.expecting("START_OBJECT", body)
        connector = parse_connector(body)
        if "protocol" not in connector:
            raise illegal_argument("connector protocol is null")
        check_protocol_rules(connector)
        return connector

    def create(self, body: Mapping[str, Any] | None) -> str:
        """`POST /connectors/_create`; returns the connector id."""
        require_remote_inference(self.ml.settings)
        if body is None:
            raise caller_error("i_o_exception", "Create Connector request has empty body")
        connector = parse_connector(body)
        backend_roles = xcontent.string_list(body, "backend_roles")
        add_all = xcontent.boolean(body, "add_all_backend_roles")
        access_mode = access_mode_of(body, lowercase=False)
        for field, label in (("name", "name"), ("version", "version"), ("protocol", "protocol")):
            if field not in connector:
                raise illegal_argument(f"Connector {label} is null")
        is_mcp = connector["protocol"] in MCP_PROTOCOLS
        if not connector.get("credential") and not is_mcp:
            raise illegal_argument("Connector credential is null or empty list")
        if is_mcp and not (connector.get("url") or "").strip():
            raise illegal_argument("MCP Connector url is null or blank")
        check_protocol_rules(connector)
        check_trusted_endpoints(connector, self.ml.settings.trusted_connector_endpoints_regex)
        if access_mode is not None or add_all is not None or backend_roles is not None:
            raise illegal_argument(ACCESS_CONTROL_DISABLED)
        now = self.ml.clock.millis()
        doc = in_field_order({"parameters": {}, **connector, "created_time": now, "last_updated_time": now})
        connector_id = new_document_id(self.ml.rng)
        self.index.index(connector_id, doc)
        self.ml.log.append("os_connector_created", "connector created", connector_id=connector_id,
                           protocol=connector["protocol"])
        return connector_id

    def get(self, connector_id: str) -> dict[str, Any] | None:
        """The stored connector, credential included (for the parts that call it)."""
        return self.index.get(connector_id)

    def get_or_404(self, connector_id: str) -> dict[str, Any]:
        connector = self.get(connector_id)
        if not self.index.exists:
            raise os_status(404, "Failed to find connector")
        if connector is None:
            raise os_status(404, f"Failed to find connector with the provided connector id: {connector_id}")
        return connector

    def view(self, connector_id: str) -> dict[str, Any]:
        """`GET /connectors/{id}`."""
        return without_credential(self.get_or_404(connector_id))

    def search(self, body: Mapping[str, Any] | None) -> dict[str, Any]:
        return run_search(self.index, parse_request(body, TEXT_FIELDS, versions=True), present=without_credential)

    def update(self, connector_id: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        """`PUT /connectors/{id}`: fields given replace the stored ones; refused while a deployed
        model uses the connector. Returns the update response."""
        require_remote_inference(self.ml.settings)
        if body is None:
            raise parse_exception("Failed to update connector: Request body is empty")
        changes = parse_connector(body)
        connector = self.get_or_404(connector_id)
        for key in ("parameters", "credential", "actions"):
            if not changes.get(key, True):
                changes.pop(key)  # an empty map or list leaves the stored one as it is
        merged = {**connector, **changes}
        check_protocol_rules(merged)
        check_trusted_endpoints(merged, self.ml.settings.trusted_connector_endpoints_regex)
        users = [model_id for model_id, stored in self.ml.store[MODEL_INDEX].docs.items()
                 if stored.source.get("connector_id") == connector_id
                 and stored.source.get("model_state") in ON_NODES_STATES]
        if users:
            raise os_status(400, f"{len(users)} models are still using this connector, please undeploy the models "
                                 f"first: [{', '.join(users)}]")
        merged["last_updated_time"] = self.ml.clock.millis()
        return self.index.index(connector_id, in_field_order(merged))

    def delete(self, connector_id: str) -> dict[str, Any]:
        """`DELETE /connectors/{id}`: refused while any model references it; the index's delete
        response, answered 200 even when it is `not_found` (ml-commons renders it without its
        status); 404 only while the index does not exist yet."""
        if not self.index.exists:
            raise os_status(404, "Failed to find connector")
        users = [model_id for model_id, stored in self.ml.store[MODEL_INDEX].docs.items()
                 if stored.source.get("connector_id") == connector_id]
        if users:
            raise os_status(409, f"{len(users)} models are still using this connector, please delete or update the "
                                 f"models first: [{', '.join(users)}]")
        return self.index.delete(connector_id)
