"""ml-commons predict: enable flag, rate limits, guardrails, interfaces, local and remote answers.

One request goes through the steps of ml-commons' transport action and task runner, in
their order:

1. the body parsed for the path's algorithm, when the path names one; the model document
   (404 "Failed to find model"); remote inference switched off refuses a remote model;
   else the body parsed for the model's algorithm (the REST layer reads the body with
   OpenSearch's parser, after the model when the path names no algorithm);
2. `is_enabled: false` → 403 "Model is disabled.";
3. local (deep-learning, `DL_FUNCTIONS`) models: the rate limits, on the node that received the request
   when it serves the model (only serving nodes hold the buckets);
4. the model's `interface.input` schema;
5. routing: no worker (or, for a remote model, fewer than planned) → a remote model is
   auto-deployed when `model_auto_deploy_enable` and its `deploy_setting` allow it, a local
   one is refused "Model not ready yet. Please deploy the model first."; then a worker
   chosen by ml-commons' one task dispatcher (`task_dispatch_policy`: round robin on the
   counter register tasks share, or least load; see `dispatcher.py`);
6. on the worker: a local model's request, forwarded there as the same transport action,
   takes the worker's rate-limit tokens too (when the worker is not the receiving node),
   passes the worker's memory circuit breaker (429 circuit_breaking_exception, not counted
   as a request) and waits its inference time; a remote model's renders the connector payload, takes the
   rate-limit tokens there, passes the input guardrail, waits the simulated endpoint and
   passes the output guardrail;
7. the model's `interface.output` schema.

Model settings (`is_enabled`, `rate_limiter`, guardrails, interface, connector) are read
from the model document at every request: ml-commons reads them from node caches that the
update API refreshes by broadcast, modelled here as always in sync.

Every REST request is received by the cluster's first node (one HTTP endpoint, as a client
configured with one host). So a local model with a limit of L per unit on N workers, each
node's bucket holding L/N, lets about L/N through when that node serves it (every request
spends a token there, those forwarded spend one on their worker too) and about L when it
does not. Requests that reach the worker's execution are counted in the stats
(`record_request`), as failed when ml-commons counts them so (not for its 400 refusals).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import breakers, guardrails, local_inference, remote_connector, xcontent
from .budgeted_regex import RegexBudgetExceeded
from .errors import MlError, caller_error, illegal_argument, os_status, require_local_model, require_remote_inference
from .interface_schema import interface_schema, validate_input, validate_output
from .local_models import DL_FUNCTIONS
from .register_input import FUNCTION_NAMES

if TYPE_CHECKING:
    from .service import MlCommons

REMOTE = "REMOTE"
TEXT_EMBEDDING = "TEXT_EMBEDDING"
#: Input formats whose body is text documents (`MLInput`'s generic parser).
TEXT_DOCS_INPUTS = frozenset({"TEXT_EMBEDDING", "SPARSE_ENCODING", "SPARSE_TOKENIZE"})
TEXT_SIMILARITY = "TEXT_SIMILARITY"
QUESTION_ANSWERING = "QUESTION_ANSWERING"
#: The local model kinds mlsim answers predict for (`local_inference`).
LOCAL_ANSWERS = TEXT_DOCS_INPUTS | {TEXT_SIMILARITY, QUESTION_ANSWERING}
SPARSE_KINDS = frozenset({"SPARSE_ENCODING", "SPARSE_TOKENIZE"})

NOT_READY = "Model not ready yet. Please deploy the model first."
AUTO_DEPLOY_DISABLED = "Auto deployment disabled for this model, please deploy model first"


@dataclass(slots=True)
class PredictInput:
    """The predict body as ml-commons parses it for one algorithm."""

    #: `getParameterMap`: every value a string (objects and arrays as JSON), nulls dropped
    parameters: dict[str, str] = field(default_factory=dict)
    text_docs: list[str] | None = None
    return_bytes: bool = False
    return_number: bool = True
    target_response: list[str] = field(default_factory=list)
    query_text: str | None = None
    #: `parameters.sparse_embedding_format` of a sparse model: WORD or TOKEN_ID
    sparse_format: str = "WORD"
    question: str | None = None
    context: str | None = None

    def instance(self, algorithm: str) -> dict[str, Any]:
        """What the input serialises to for the `interface.input` check."""
        instance: dict[str, Any] = {"algorithm": algorithm}
        if self.parameters:
            instance["parameters"] = dict(self.parameters)
        if self.text_docs is not None:
            instance["text_docs"] = list(self.text_docs)
            instance["return_bytes"] = self.return_bytes
            instance["return_number"] = self.return_number
            if self.target_response:
                instance["target_response"] = list(self.target_response)
        for name in ("query_text", "question", "context"):
            if getattr(self, name) is not None:
                instance[name] = getattr(self, name)
        return instance


def parse_input(algorithm: str, body: dict[str, Any]) -> PredictInput:
    """The body for `algorithm`, with ml-commons' refusals ("empty docs", ...); fields the
    algorithm's parser does not know are skipped."""
    name = algorithm.upper()
    if name not in FUNCTION_NAMES:  # a path's algorithm must be one of them
        raise illegal_argument("Wrong function name")
    if name != REMOTE and name not in LOCAL_ANSWERS:
        raise illegal_argument(f"mlsim does not simulate predict for [{name}] models")
    parsed = PredictInput(text_docs=xcontent.string_list(body, "text_docs"))
    if name == REMOTE:
        parsed.parameters = xcontent.parameter_map(body, "parameters") or {}
        return parsed
    if name == QUESTION_ANSWERING:
        parsed.question, parsed.context = xcontent.text(body, "question"), xcontent.text(body, "context")
        if parsed.question is None:
            raise illegal_argument("Question is not provided")
        if parsed.context is None:
            raise illegal_argument("Context is not provided")
        return parsed
    if name == TEXT_SIMILARITY:
        parsed.query_text = xcontent.text(body, "query_text")
        if parsed.text_docs is None or parsed.query_text is None:  # `Objects.requireNonNull`
            missing = "text_docs" if parsed.text_docs is None else "query_text"
            raise caller_error("null_pointer_exception", f"{missing} is null")
        if not parsed.text_docs:
            raise illegal_argument("No text documents were provided")
        return parsed
    if not parsed.text_docs:
        raise illegal_argument("empty docs")
    if name in SPARSE_KINDS:
        parameters = xcontent.obj(body, "parameters") or {}
        if parameters.get("sparse_embedding_format") is not None:
            parsed.sparse_format = str(parameters["sparse_embedding_format"]).upper()
            if parsed.sparse_format not in ("WORD", "TOKEN_ID"):
                raise illegal_argument("No enum constant org.opensearch.ml.common.input.parameter.textembedding."
                                       f"SparseEmbeddingFormat.{parsed.sparse_format}")
    parsed.return_bytes = _flag(body, "return_bytes", False)
    parsed.return_number = _flag(body, "return_number", True)
    parsed.target_response = xcontent.string_list(body, "target_response") or []
    return parsed


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = xcontent.boolean(body, name)
    return default if value is None else value


class Predictor:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    async def predict(
        self, model_id: str, body: dict[str, Any], user: str | None = None, algorithm: str | None = None
    ) -> dict[str, Any]:
        """Answer one predict request (see the module doc for the order of checks)."""
        return await self._predict(model_id, body, user, algorithm, ())

    async def _predict(
        self, model_id: str, body: dict[str, Any], user: str | None, algorithm: str | None, guarding: tuple[str, ...]
    ) -> dict[str, Any]:
        """`guarding`: the models whose guardrail asked for this answer (a model that guards
        itself, directly or not, gets no answer: ml-commons' wait for it times out)."""
        # a path's algorithm is known at once: the body is read before the model is fetched
        request = parse_input(algorithm, body) if algorithm else None
        model, kind = self.model(model_id)
        if request is None:
            request = parse_input(kind, body)
        if model.get("is_enabled") is False:
            raise os_status(403, "Model is disabled.")
        receiving = self._receiving_node()
        if kind in DL_FUNCTIONS and receiving in self.ml.workers.nodes(model_id):
            # only a node serving the model holds its bucket in its cache
            self.ml.rate_limits.check(model_id, receiving, user)
        input_schema = interface_schema(model, "input")
        if input_schema is not None:
            validate_input(input_schema, request.instance(kind))
        node_id = self.route(model_id, model, kind)
        if kind in DL_FUNCTIONS and node_id != receiving:
            # the request is sent on as the same transport action: the worker checks again
            self.ml.rate_limits.check(model_id, node_id, user)
        breakers.check(self.ml, node_id, kind)
        started = self.ml.env.now
        self.ml.stats.predict_started(node_id)
        try:
            if kind == REMOTE:
                answer = await self._remote(model_id, model, request, node_id, user, guarding)
            else:
                answer = await self._local(model_id, model, kind, request)
            output_schema = interface_schema(model, "output")
            if output_schema is not None:
                validate_output(output_schema, answer)
        except MlError as exc:
            self._record(node_id, model_id, kind, started, failed=exc.status != 400)
            raise
        finally:
            self.ml.stats.predict_finished(node_id)
        self._record(node_id, model_id, kind, started, failed=False)
        return answer

    def model(self, model_id: str) -> tuple[dict[str, Any], str]:
        """The model document and its algorithm, as ml-commons fetches them before reading a
        body that names no algorithm: 404 when missing; a remote model is refused while
        remote inference is off."""
        model = self.ml.deployer.model_doc(model_id)
        kind = str(model.get("algorithm", "")).upper()
        if kind == REMOTE:
            require_remote_inference(self.ml.settings)
        elif kind in DL_FUNCTIONS:
            require_local_model(self.ml.settings)
        return model, kind

    # -- routing --------------------------------------------------------------------

    def _receiving_node(self) -> str | None:
        """The node REST requests arrive at: the cluster's first (None: no node at all)."""
        return next(iter(self.ml.state.nodes), None)

    def route(self, model_id: str, model: dict[str, Any], kind: str) -> str:
        """The worker a request goes to (auto-deploying a remote model when allowed)."""
        workers = self.ml.workers.nodes(model_id)
        planned = model.get("planning_worker_nodes") or []
        if not workers or (kind == REMOTE and len(workers) < len(planned)):
            if kind != REMOTE or not self.ml.settings.model_auto_deploy_enable:
                raise illegal_argument(NOT_READY)
            if (model.get("deploy_setting") or {}).get("is_auto_deploy_enabled") is False:
                hidden = model.get("is_hidden") is True  # hidden models' ids stay out of messages
                raise illegal_argument(
                    AUTO_DEPLOY_DISABLED if hidden else f"{AUTO_DEPLOY_DISABLED} Model ID: {model_id}"
                )
            try:
                self.ml.deployer.deploy(model_id)
            except MlError as exc:  # ml-commons only logs a failed auto-deploy
                self.ml.log.append(
                    "os_auto_deploy_failed", "predict on an undeployed model", model_id=model_id, reason=exc.reason
                )
            workers = self.ml.workers.nodes(model_id)
        return self.ml.deployer.dispatcher.dispatch_predict(workers)

    # -- execution on the worker ------------------------------------------------------

    async def _local(self, model_id: str, model: dict[str, Any], kind: str, request: PredictInput) -> dict[str, Any]:
        if kind not in LOCAL_ANSWERS:
            raise illegal_argument(f"mlsim does not simulate predict for [{kind}] models")
        if kind == QUESTION_ANSWERING:
            texts = 1
        elif not request.text_docs:
            raise illegal_argument("empty docs" if kind in TEXT_DOCS_INPUTS else "No text documents were provided")
        else:
            texts = len(request.text_docs)
        profile = self.ml.state.settings.inference_profile
        await self.elapse(local_inference.local_latency_seconds(profile, texts))
        if kind == TEXT_EMBEDDING:
            return local_inference.text_embedding_answer(model_id, model, request.text_docs or [])
        if kind == QUESTION_ANSWERING:
            return local_inference.question_answering_answer(str(request.question), str(request.context))
        if kind == TEXT_SIMILARITY:
            return local_inference.text_similarity_answer(model_id, model, str(request.query_text),
                                                          request.text_docs or [])
        return local_inference.sparse_answer(model_id, model, request.text_docs or [], tokenize=kind != "SPARSE_ENCODING",
                                             token_ids=request.sparse_format == "TOKEN_ID")

    async def _remote(
        self,
        model_id: str,
        model: dict[str, Any],
        request: PredictInput,
        node_id: str,
        user: str | None,
        guarding: tuple[str, ...],
    ) -> dict[str, Any]:
        connector = self.connector(model)
        request_params = remote_connector.request_parameters(request.parameters, request.text_docs)
        parameters = {**remote_connector.connector_parameters(connector), **request_params}
        payload = remote_connector.render_payload(connector, parameters)
        self.ml.rate_limits.check(model_id, node_id, user)
        guard = model.get("guardrails")
        chain = guarding + (model_id,)
        if isinstance(guard, dict) and not await self._guard_passes(
            chain, guard, guardrails.INPUT, payload, parameters, user
        ):
            raise illegal_argument(guardrails.INPUT_TRIGGERED)
        await self.elapse(self.ml.settings.remote_latency_seconds)
        body = remote_connector.simulated_answer(parameters, payload)
        if isinstance(guard, dict):
            question = {"question": json.dumps(body, ensure_ascii=False)[1:-1]}  # processTextDoc
            if not await self._guard_passes(chain, guard, guardrails.OUTPUT, body, question, user):
                raise illegal_argument(guardrails.OUTPUT_TRIGGERED)
        tensor = remote_connector.response_tensor(body, parameters.get("response_filter"))
        return {"inference_results": [{"output": [tensor], "status_code": 200}]}

    def connector(self, model: dict[str, Any]) -> dict[str, Any]:
        """The model's inline connector, else its stand-alone one (404 when gone)."""
        inline = model.get("connector")
        return inline if isinstance(inline, dict) else self.ml.connectors.get_or_404(str(model.get("connector_id")))

    async def elapse(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass (at once in the virtual clock)."""
        done = self.ml.env.timeout(max(seconds, 0.0))
        await self.ml.clock.wait_until(lambda: done.processed)

    def _record(self, node_id: str, model_id: str, kind: str, started: float, failed: bool) -> None:
        latency_ms = (self.ml.env.now - started) * 1000.0
        self.ml.stats.record_request(node_id, model_id, kind, "predict", latency_ms, failed)

    # -- guardrails -------------------------------------------------------------------

    async def _guard_passes(
        self,
        chain: tuple[str, ...],
        guard: dict[str, Any],
        which: str,
        text: str,
        parameters: dict[str, str],
        user: str | None,
    ) -> bool:
        """`chain`: the guarded model last, the models it answers for before it."""
        spec = guard.get(which)
        if not isinstance(spec, dict):
            return True
        model_id = chain[-1]
        if str(guard.get("type") or guardrails.LOCAL_REGEX) == guardrails.MODEL:
            return await self._model_guard_passes(chain, spec, which, parameters.get("question"), user)
        try:
            if guardrails.regex_rejects(text, spec.get("regex") or []):
                return False
        except re.error as exc:
            raise illegal_argument(f"Invalid regex in guardrails: {exc}") from None
        except RegexBudgetExceeded as exc:
            return self._rejected_on_budget(model_id, which, exc)
        rejected, problems = guardrails.stop_words_verdict(text, spec.get("stop_words") or [], self._stored_queries)
        for problem in problems:
            self.ml.log.append(
                "guardrail_search_failed", "stop words search failed: the guardrail passes",
                model_id=model_id, guardrail=which, reason=problem,
            )
        return not rejected

    def _stored_queries(self, index_name: str) -> list[dict[str, Any]] | None:
        index = self.ml.store.index_named(index_name)
        if index is None:
            return None
        sources = (stored.source.get("query") for stored in index.docs.values())
        return [query for query in sources if query is not None]

    async def _model_guard_passes(
        self, chain: tuple[str, ...], spec: dict[str, Any], which: str, question: str | None, user: str | None
    ) -> bool:
        """Ask the guardrail model; an answer it can't give counts as accepted, as in ml-commons."""
        if not question:
            return True
        model_id, guard_model_id = chain[-1], str(spec.get("model_id"))
        parameters = {"question": question}
        if spec.get("response_filter"):
            parameters["response_filter"] = spec["response_filter"]
        if guard_model_id in chain:
            self._log_no_verdict(model_id, which, f"guardrail model [{guard_model_id}] waits on itself")
            return True
        try:
            answer = await self._predict(guard_model_id, {"parameters": parameters}, user, None, chain)
        except MlError as exc:
            self._log_no_verdict(model_id, which, exc.reason)
            return True
        response = answer["inference_results"][0]["output"][0].get("dataAsMap", {}).get("response")
        try:
            return guardrails.model_accepts(response, str(spec.get("response_validation_regex")))
        except re.error as exc:
            raise illegal_argument(f"Invalid regex in guardrails: {exc}") from None
        except RegexBudgetExceeded as exc:
            return self._rejected_on_budget(model_id, which, exc)

    def _rejected_on_budget(self, model_id: str, which: str, exc: RegexBudgetExceeded) -> bool:
        """A regex stopped at its budget rejects, as a guardrail check that times out does."""
        self.ml.log.append("guardrail_regex_stopped", "regex ran over its budget: rejected",
                           model_id=model_id, guardrail=which, reason=str(exc))
        return False

    def _log_no_verdict(self, model_id: str, which: str, reason: str) -> None:
        self.ml.log.append(
            "guardrail_model_failed", "guardrail model gave no answer: accepted",
            model_id=model_id, guardrail=which, reason=reason,
        )
