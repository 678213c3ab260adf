"""The update-model seed's world (`shared/seeds/004`) on ml-commons, for `mlsim serve --demo`.

Every model the seed's examples name exists under its documented id, deployed:
- `MzcIJX8BA7mbufL6DOwl`: a remote chat model (guardrail and enable examples; guardrails act
  on remote models only);
- `T_S-cY0BKCJ3ot9qr0aP`: a local sentence-embedding model on every ML node (rate limiter);
- `9uGdCJABjaMXYrp14YRj`: a remote chat model guarded by the model below;
- `V-G1CJABjaMXYrp1QoUC`: the guardrail model; it answers "reject" to a question that
  mentions a blocked topic ("password", "exploit") and "accept" to anything else;
- `IMcNB5UB7judm8f45nXo`: a remote AI21 Jurassic-style completion model whose simulated
  answer has the shape the seed's output interface describes.
The stop-word indices the local-regex example names (`updated_stop_words_input`,
`updated_stop_words_output`, field `updated_title`) hold percolator queries for a few phrases.
"""

from __future__ import annotations

import json
from typing import Any

from .documents import MODEL_INDEX
from .service import MlCommons

CHAT_MODEL = "MzcIJX8BA7mbufL6DOwl"
EMBEDDING_MODEL = "T_S-cY0BKCJ3ot9qr0aP"
GUARDED_MODEL = "9uGdCJABjaMXYrp14YRj"
GUARDRAIL_MODEL = "V-G1CJABjaMXYrp1QoUC"
JURASSIC_MODEL = "IMcNB5UB7judm8f45nXo"
STOP_WORD_INDICES = ("updated_stop_words_input", "updated_stop_words_output")
STOP_WORD_FIELD = "updated_title"
STOP_PHRASES = ("stop word", "internal only")
BLOCKED_TOPICS = r"(?i)password|exploit"

#: What the simulated AI21 Jurassic endpoint answers: the prompt back as text and tokens.
JURASSIC_ANSWER = {
    "id": 1234,
    "prompt": {
        "text": "${parameters.prompt}",
        "tokens": [
            {"generatedToken": {"token": "▁simulated", "logprob": -1.5, "raw_logprob": -1.5},
             "textRange": {"start": 0, "end": 9}},
        ],
    },
    "completions": [
        {
            "data": {
                "text": " A simulated completion.",
                "tokens": [
                    {"generatedToken": {"token": "▁A", "logprob": -0.2, "raw_logprob": -0.2},
                     "textRange": {"start": 0, "end": 2}},
                ],
            },
            "finishReason": {"reason": "endoftext", "length": 4},
        }
    ],
}


DEMO_ENDPOINT_REGEX = r"^https://chat\.example\.invalid/.*$"


def build_opensearch_demo(ml: MlCommons) -> None:
    """Register and deploy the seed's models on the cluster's ML nodes; fill the stop-word
    indices. Moves the clock with `advance` until the local model is deployed. The simulated
    chat endpoint joins the node-level trusted endpoints, as an admin's opensearch.yml would
    add it (ml-commons' default list trusts only the big providers)."""
    settings = ml.settings
    if DEMO_ENDPOINT_REGEX not in settings.trusted_connector_endpoints_regex:
        settings.trusted_connector_endpoints_regex = (*settings.trusted_connector_endpoints_regex, DEMO_ENDPOINT_REGEX)
    for index_name in STOP_WORD_INDICES:
        index = ml.store.index_named(index_name, create=True)
        for number, phrase in enumerate(STOP_PHRASES, start=1):
            index.index(str(number), {"query": {"match_phrase": {STOP_WORD_FIELD: phrase}}})
    remote_models = (
        (CHAT_MODEL, "Simulated chat model", _chat_connector("chat")),
        (GUARDRAIL_MODEL, "Simulated guardrail model", _guardrail_connector()),
        (GUARDED_MODEL, "Simulated guarded chat model", _chat_connector("guarded chat")),
        (JURASSIC_MODEL, "Simulated AI21 Labs Jurassic model", _jurassic_connector()),
    )
    for model_id, name, connector in remote_models:
        ml.models.register(
            {"name": name, "function_name": "remote", "description": name, "connector": connector},
            model_id=model_id,
        )
        ml.deployer.deploy(model_id)
    ml.models.register(
        {
            "name": "huggingface/sentence-transformers/all-MiniLM-L6-v2",
            "version": "1.0.1",
            "model_format": "TORCH_SCRIPT",
        },
        deploy=True,
        model_id=EMBEDDING_MODEL,
    )
    _advance_until_deployed(ml, EMBEDDING_MODEL)


def _advance_until_deployed(ml: MlCommons, model_id: str, step: float = 1.0, limit: float = 600.0) -> None:
    """Move the clock (with `advance`, which works before a realtime server drives it) until
    `model_id` is DEPLOYED."""
    waited = 0.0
    while (state := ml.store[MODEL_INDEX].get(model_id)["model_state"]) != "DEPLOYED":
        if waited >= limit:
            raise RuntimeError(f"demo model [{model_id}] is [{state}] after {limit:.0f} s, expected [DEPLOYED]")
        ml.clock.advance(step)
        waited += step


def _chat_connector(kind: str) -> dict[str, Any]:
    """A chat-completion connector whose simulated endpoint echoes the prompt."""
    return {
        "name": f"Simulated {kind} connector",
        "description": "Answers with the prompt it was sent (mlsim simulates the endpoint)",
        "version": "1",
        "protocol": "http",
        "parameters": {"endpoint": "chat.example.invalid", "model": "sim-chat-1"},
        "credential": {"api_key": "not-a-real-key"},
        "actions": [
            {
                "action_type": "predict",
                "method": "POST",
                "url": "https://${parameters.endpoint}/v1/completions",
                "headers": {"Authorization": "Bearer ${credential.api_key}"},
                "request_body": '{"model": "${parameters.model}", "prompt": "${parameters.prompt}"}',
            }
        ],
    }


def _guardrail_connector() -> dict[str, Any]:
    connector = _chat_connector("guardrail")
    connector["actions"][0]["request_body"] = '{"question": "${parameters.question}"}'
    connector["parameters"]["mlsim_response_rules"] = json.dumps(
        [
            {"if_matches": BLOCKED_TOPICS, "response": '{"response": "reject"}'},
            {"response": '{"response": "accept"}'},
        ]
    )
    return connector


def _jurassic_connector() -> dict[str, Any]:
    return {
        "name": "Simulated Amazon Bedrock AI21 Labs Jurassic connector",
        "description": "Answers like ai21.j2-mid-v1 (mlsim simulates the endpoint)",
        "version": "1",
        "protocol": "aws_sigv4",
        "parameters": {
            "region": "us-east-1",
            "service_name": "bedrock",
            "model": "ai21.j2-mid-v1",
            "mlsim_response": json.dumps(JURASSIC_ANSWER, ensure_ascii=False),
        },
        "credential": {"access_key": "not-a-real-key", "secret_key": "not-a-real-secret"},
        "actions": [
            {
                "action_type": "predict",
                "method": "POST",
                "url": "https://bedrock-runtime.${parameters.region}.amazonaws.com/model/${parameters.model}/invoke",
                "headers": {"content-type": "application/json"},
                "request_body": '{"prompt": "${parameters.prompt}", "maxTokens": 200}',
            }
        ],
    }
