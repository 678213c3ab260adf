"""The simulated remote connector: build the request a connector would send, and the answer
its endpoint gives, without touching the network.

Parameters: the connector's `parameters`, overridden by the predict request's `parameters`
(already strings, non-string values as their JSON text); request values that are not a JSON
object or array are JSON-escaped, as ml-commons does before substituting them into a JSON
body. Text
documents (`text_docs`) become `parameters.input`, a JSON array, as ml-commons' default
embedding pre-process function makes them.

The PREDICT action's `request_body` is rendered by replacing `${parameters.NAME}`, again
inside substituted values (so a `prompt` of `${parameters.question}` works); the result must
be a JSON object or array ("Invalid payload: ..."), and placeholders left unfilled are
refused unless `skip_validating_missing_parameters` is "true".

The simulated endpoint answers after `remote_latency_seconds` (settings). Its body is:
- by default, the rendered payload itself (an echo);
- `parameters.mlsim_response`, when set: a template rendered like the request body
  (with the same parameters), e.g. `{"response": "${parameters.question}"}`;
- `parameters.mlsim_response_rules`, when set: the JSON text of a list of
  `{"if_matches": "<regex>", "response": "<template>"}` (connector parameters are strings); the first rule whose regex is found
  in the rendered payload (`re.search`) answers with its template; a rule without
  `if_matches` always applies; no applicable rule falls back to `mlsim_response` / the echo.
  This is how a guardrail model is made to say "accept" or "reject".
Both are mlsim's own connector parameters (ml-commons keeps any parameter), so a predict
request may override them too.

The answer becomes the `dataAsMap` of one `response` tensor as ml-commons parses it: a JSON
object as is (numbers become doubles, as Gson reads them: 7 is 7.0), a JSON array under `response`,
anything else as the string `response`; `response_filter` (a JSONPath such as
`$.choices[0].text`) picks a part first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .budgeted_regex import BudgetedPattern, RegexBudgetExceeded
from .connectors import predict_action
from .errors import MlError, illegal_argument

RESPONSE_TEMPLATE = "mlsim_response"
RESPONSE_RULES = "mlsim_response_rules"
SKIP_MISSING = "skip_validating_missing_parameters"
_PLACEHOLDER = re.compile(r"\$\{parameters\.([^}]+)\}")
_MAX_DEPTH = 32


def connector_parameters(connector: dict[str, Any]) -> dict[str, str]:
    return {str(k): _as_text(v) for k, v in (connector.get("parameters") or {}).items()}


def request_parameters(parameters: dict[str, str], text_docs: list[str] | None) -> dict[str, str]:
    """The request's parameters as ml-commons hands them to the connector."""
    merged = dict(parameters)
    if text_docs is not None:
        merged["input"] = json.dumps(text_docs, ensure_ascii=False)
    return {key: value if _is_json_container(value) else _escape(value) for key, value in merged.items()}


def render_payload(connector: dict[str, Any], parameters: dict[str, str], action_type: str = "PREDICT") -> str:
    """The request body the connector's `action_type` action sends (refusals as ml-commons
    words them)."""
    action = predict_action(connector) if action_type == "PREDICT" else next(
        (a for a in connector.get("actions") or [] if a.get("action_type") == action_type), None)
    if action is None:
        raise illegal_argument(f"no {action_type} action found")
    template = action.get("request_body")
    payload = render(template, parameters) if template is not None else parameters.get("http_body", "")
    if not _is_json_container(payload):
        raise illegal_argument(f"Invalid payload: {payload}")
    if parameters.get(SKIP_MISSING, "false").lower() != "true":
        missing = _PLACEHOLDER.findall(payload)
        if missing:
            raise illegal_argument("Some parameter placeholder not filled in payload: " + ", ".join(missing))
    return payload


def render(template: str, parameters: dict[str, str]) -> str:
    """Replace `${parameters.NAME}` (also inside replaced values); unknown names stay."""

    def expand(text: str, seen: tuple[str, ...]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in parameters:
                return match.group(0)
            if name in seen or len(seen) >= _MAX_DEPTH:
                loop = f"Infinite loop in property interpolation of ${{parameters.{name}}}"
                raise MlError(500, "illegal_state_exception", loop)
            return expand(parameters[name], seen + (name,))

        return _PLACEHOLDER.sub(one, text)

    return expand(template, ())


def simulated_answer(parameters: dict[str, str], payload: str) -> str:
    """The body the simulated endpoint returns for `payload` (see the module doc)."""
    for rule in _rules(parameters.get(RESPONSE_RULES)):
        pattern = rule.get("if_matches")
        if pattern is None or _found(str(pattern), payload):
            return render(_as_text(rule.get("response", "")), parameters)
    template = parameters.get(RESPONSE_TEMPLATE)
    return payload if template is None else render(template, parameters)


def _found(pattern: str, payload: str) -> bool:
    """`re.search` within the user-regex budget; a rule stopped at it is refused (400)."""
    try:
        return BudgetedPattern(pattern).search(payload) is not None
    except RegexBudgetExceeded as exc:
        raise illegal_argument(f"[{RESPONSE_RULES}] {exc}") from None


def _rules(raw: str | None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    try:
        rules = json.loads(raw)
    except ValueError:
        rules = None
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise illegal_argument(f"[{RESPONSE_RULES}] must be a list of {{\"if_matches\", \"response\"}} rules")
    for rule in rules:
        if rule.get("if_matches") is not None:
            try:
                re.compile(str(rule["if_matches"]))
            except re.error as exc:
                bad = rule["if_matches"]
                raise illegal_argument(f"[{RESPONSE_RULES}] has an invalid regex [{bad}]: {exc}") from None
    return rules


def response_tensor(body: str, response_filter: str | None) -> dict[str, Any]:
    """The `response` tensor ml-commons makes of the endpoint's body."""
    if response_filter is not None:
        data = _json_path(_parse(body, float_numbers=False), response_filter)
        if isinstance(data, str) and _is_json_container(data):
            return {"name": "response", "dataAsMap": _as_map(data)}
        return {"name": "response", "dataAsMap": {"response": data}}
    if _is_json_container(body):
        return {"name": "response", "dataAsMap": _as_map(body)}
    return {"name": "response", "dataAsMap": {"response": body}}


def _as_map(text: str) -> dict[str, Any]:
    data = _parse(text, float_numbers=True)
    return data if isinstance(data, dict) else {"response": data}


def _parse(text: str, float_numbers: bool) -> Any:
    """JSON as Gson reads it into a Map (every number a double) or as JsonPath reads it."""
    try:
        return json.loads(text, parse_int=float) if float_numbers else json.loads(text)
    except ValueError:
        raise illegal_argument(f"Invalid JSON in response: {text}") from None


_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


def _json_path(data: Any, path: str) -> Any:
    """A JSONPath of names and indexes (`$.a.b[0]['c']`), as `response_filter` uses it."""
    if not path.startswith("$"):
        raise illegal_argument(f"Invalid response_filter [{path}]")
    position, current = 1, data
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            raise illegal_argument(f"Invalid response_filter [{path}]: only names and indexes are simulated")
        name, index, quoted = step.groups()
        try:
            current = current[int(index)] if index is not None else current[name if name is not None else quoted]
        except (KeyError, IndexError, TypeError):
            raise illegal_argument(f"No results for path: {path}") from None
        position = step.end()
    return current


def _as_text(value: Any) -> str:
    """A parameter value as ml-commons keeps it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _is_json_container(text: str) -> bool:
    """ml-commons' `isJson`: a JSON object or array."""
    try:
        return isinstance(json.loads(text), (dict, list))
    except (ValueError, TypeError):
        return False
