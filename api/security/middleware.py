"""Authentication and authorization of every routed request, refused in the words of the
dialect the path belongs to.

Elasticsearch: 401 `security_exception` "missing authentication credentials for REST
request [uri]" (or "unable to authenticate user [u] for REST request [uri]") with its
`WWW-Authenticate` challenges; 403 "action [a] is unauthorized for user [u] with effective
roles [r], this action is granted by the cluster privileges [p]". OpenSearch's security
plugin: 401 `Unauthorized` as plain text with its Basic challenge; 403 "no permissions for
[a] and User [name=u, backend_roles=[], requestedTenant=null]". Paths without a handler
answer first (400 / 405), as in Elasticsearch, where security wraps the handlers.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from cluster.errors import MlError

from ..http_errors import error_body
from ..middleware import is_opensearch_path
from ..responses import render
from .actions import action_of
from .privileges import SUPERUSER_ROLES, es_allows, granting_privileges, os_allows
from .users import Principal, Users

#: Elasticsearch's challenges (Basic realm and API keys; no token service in the simulator).
ES_CHALLENGES = ('Basic realm="security", charset="UTF-8"', "ApiKey")
OS_CHALLENGE = 'Basic realm="OpenSearch Security"'
BAD_API_KEY = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"

USERS = web.AppKey("users", Users)


def installer(users: Users):
    """An app extension that demands credentials from every request (see `create_app`)."""

    def install(app: web.Application) -> None:
        app[USERS] = users
        app.middlewares.append(secure)

    return install


class _Refused(Exception):
    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response


@web.middleware
async def secure(request: web.Request, handler) -> web.StreamResponse:
    info = request.match_info
    if info.http_exception is not None or info.route.resource is None:
        return await handler(request)
    try:
        principal = _authenticate(request, request.app[USERS])
        _authorize(request, request.app[USERS], principal, info.route.resource.canonical)
    except _Refused as refused:
        return refused.response
    return await handler(request)


def _authenticate(request: web.Request, users: Users) -> Principal:
    opensearch = is_opensearch_path(request.path)
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("basic", "apikey") or (scheme == "apikey" and opensearch):
        missing = f"missing authentication credentials for REST request [{request.raw_path}]"
        raise _Refused(_unauthorized(request, missing))
    try:
        name, sep, secret = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        name, sep, secret = "", "", ""
    if scheme == "apikey":
        principal = users.api_key_matches(name, secret) if sep else None
        if principal is None:
            raise _Refused(_unauthorized(request, BAD_API_KEY))
        return principal
    user = users.password_matches(name, secret) if sep else None
    if user is None:
        failed = f"unable to authenticate user [{name}] for REST request [{request.raw_path}]"
        raise _Refused(_unauthorized(request, failed))
    return Principal(user)


def _unauthorized(request: web.Request, reason: str) -> web.StreamResponse:
    if is_opensearch_path(request.path):
        response = web.Response(text="Unauthorized", status=401, content_type="text/plain")
        response.headers["WWW-Authenticate"] = OS_CHALLENGE
        return response
    body = error_body(MlError(401, "security_exception", reason))
    challenges = {"WWW-Authenticate": list(ES_CHALLENGES)}
    body["error"]["header"] = challenges
    body["error"]["root_cause"][0]["header"] = challenges
    response = render(request, body, 401, filtered=False)
    for challenge in ES_CHALLENGES:
        response.headers.add("WWW-Authenticate", challenge)
    return response


def _authorize(request: web.Request, users: Users, principal: Principal, route: str) -> None:
    roles = principal.user.roles
    action = action_of(request.method, route)
    if route == "/_sim" or route.startswith("/_sim/") or action is None:
        allowed = any(role in SUPERUSER_ROLES for role in roles)
    elif route == "/":  # both dialects' clients ask the root
        allowed = es_allows(roles, users.roles, action) or os_allows(roles, users.roles, action)
    elif is_opensearch_path(request.path):
        index = request.match_info.get("index") if action.startswith("indices:") else None
        allowed = os_allows(roles, users.roles, action, index)
    else:
        allowed = es_allows(roles, users.roles, action)
    if not allowed:
        raise _Refused(_forbidden(request, principal, action or f"{request.method} {route}"))


def _forbidden(request: web.Request, principal: Principal, action: str) -> web.Response:
    user = principal.user
    if is_opensearch_path(request.path):
        reason = f"no permissions for [{action}] and User [name={user.name}, backend_roles=[], requestedTenant=null]"
    else:
        who = (
            f"API key id [{principal.api_key_id}] of user [{user.name}]"
            if principal.api_key_id
            else f"user [{user.name}] with effective roles [{','.join(user.roles)}]"
        )
        reason = f"action [{action}] is unauthorized for {who}"
        granting = [] if "/mlsim/" in action else granting_privileges(action)
        if granting:
            reason += f", this action is granted by the cluster privileges [{','.join(granting)}]"
    return render(request, error_body(MlError(403, "security_exception", reason)), 403, filtered=False)
