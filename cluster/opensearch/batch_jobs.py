"""ml-commons' offline batch inference on a remote model: `_batch_predict` creates a
BATCH_PREDICTION task whose `remote_job` is what the connector's BATCH_PREDICT action
answered; GET of the task asks the BATCH_PREDICT_STATUS action and maps the job's status to
the task state (`GetTaskTransportAction`); `_cancel` calls CANCEL_BATCH_PREDICT. The remote job does not progress by itself: it
is whatever the simulated endpoint answers to the status call.

Each of `remote_job.status_field` the job holds is matched in turn (the last match wins),
case-insensitively and anywhere in the value, against the `remote_job.status_regex.*`
settings in ml-commons' order: cancelling, cancelled, completed, expired, failed. A status
matching none leaves the state as it is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

from . import remote_connector, xcontent
from .documents import MODEL_INDEX
from .errors import illegal_argument, os_status, require_batch_inference
from .settings import PREFIX, MlCommonsSettings, field_less_value

if TYPE_CHECKING:
    from .service import MlCommons

REMOTE = "REMOTE"

#: (setting suffix, task state) in the order ml-commons tries them.
STATUS_RULES = (("cancelling", "CANCELLING"), ("cancelled", "CANCELLED"), ("completed", "COMPLETED"),
                ("expired", "EXPIRED"), ("failed", "FAILED"))


def status_parameters(remote_job: Mapping[str, Any]) -> dict[str, str]:
    """The job's text fields, plus SageMaker's `TransformJobName` taken from its ARN."""
    parameters = {key: value for key, value in remote_job.items() if isinstance(value, str)}
    arn = parameters.get("TransformJobArn")
    if "TransformJobName" not in parameters and arn is not None:
        parameters["TransformJobName"] = arn[arn.rfind("/") + 1:]
    return parameters


def job_state(remote_job: Mapping[str, Any], settings: MlCommonsSettings) -> str | None:
    """The task state the job's status maps to, or None to leave the state as it is."""
    state = None
    for name in field_less_value(settings, PREFIX + "remote_job.status_field"):
        if name not in remote_job:
            continue
        value = "null" if remote_job[name] is None else str(remote_job[name])
        for suffix, candidate in STATUS_RULES:
            regex = str(field_less_value(settings, f"{PREFIX}remote_job.status_regex.{suffix}"))
            try:
                if re.search(regex, value, re.IGNORECASE):
                    state = candidate
                    break
            except re.error:
                continue  # a regex Python cannot compile matches nothing
    return state


def _action(connector: Mapping[str, Any], action_type: str) -> dict[str, Any] | None:
    return next((a for a in connector.get("actions") or [] if a.get("action_type") == action_type), None)


def _payload(connector: dict[str, Any], parameters: dict[str, str], action_type: str) -> str:
    """The action's rendered body; an action without `request_body` (a GET) sends none."""
    action = _action(connector, action_type)
    if action is not None and action.get("request_body") is None:
        return "{}"
    return remote_connector.render_payload(connector, parameters, action_type)


class BatchJobs:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml

    async def create(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /models/{id}/_batch_predict`: the BATCH_PREDICT action is called once; its
        answer (with the request's `dlq`) is the `remote_job` of a new, CREATED task."""
        predictor = self.ml.predictor
        model, kind = predictor.model(model_id)
        require_batch_inference(self.ml.settings)
        if kind != REMOTE:
            raise illegal_argument(f"mlsim simulates batch predict for remote models only, not [{kind}]")
        parameters = xcontent.parameter_map(body, "parameters") or {}
        dlq = xcontent.parameter_map(body, "dlq")
        if model.get("is_enabled") is False:
            raise os_status(403, "Model is disabled.")
        node_id = predictor.route(model_id, model, kind)
        connector = predictor.connector(model)
        merged = {**remote_connector.connector_parameters(connector), **parameters}
        payload = remote_connector.render_payload(connector, merged, "BATCH_PREDICT")
        await predictor.elapse(self.ml.settings.remote_latency_seconds)
        answer = remote_connector.response_tensor(remote_connector.simulated_answer(merged, payload), None)
        remote_job = {**answer["dataAsMap"], "dlq": dlq}
        tasks = self.ml.tasks
        task_id = tasks.create("BATCH_PREDICTION", REMOTE, model_id, [node_id], is_async=False)
        tasks.update(task_id, input_type="REMOTE", remote_job=remote_job)
        self.ml.log.append("os_batch_predict", "batch predict job created", model_id=model_id, task_id=task_id)
        return {"task_id": task_id, "status": "CREATED", "remote_job": remote_job}

    async def cancel(self, task_id: str) -> dict[str, Any]:
        """`POST /tasks/{id}/_cancel`: the CANCEL_BATCH_PREDICT action is called with the job's
        text fields; the task changes only when a later GET reads the job's status."""
        task = self.ml.tasks.get(task_id)
        if task is None:
            raise os_status(404, "Fail to find task")
        if task.get("task_type") == "BATCH_PREDICTION":
            require_batch_inference(self.ml.settings)
        if task.get("task_type") != "BATCH_PREDICTION" or task.get("function_name") != REMOTE:
            raise illegal_argument("The task ID you provided does not have any associated batch job")
        connector = self._connector_of(task)
        parameters = {**remote_connector.connector_parameters(connector),
                      **status_parameters(task.get("remote_job") or {})}
        payload = _payload(connector, parameters, "CANCEL_BATCH_PREDICT")
        await self.ml.predictor.elapse(self.ml.settings.remote_latency_seconds)
        remote_connector.simulated_answer(parameters, payload)
        self.ml.log.append("os_batch_cancel", "batch job cancel sent", task_id=task_id)
        return {"status": "OK"}

    def _connector_of(self, task: Mapping[str, Any]) -> dict[str, Any]:
        model = self.ml.store[MODEL_INDEX].get(str(task.get("model_id")))
        if model is None:
            raise os_status(404, "Failed to retrieve the ML model for the given task ID")
        return self.ml.predictor.connector(model)

    async def refresh(self, task_id: str, task: dict[str, Any]) -> dict[str, Any]:
        """`GET /tasks/{id}` of a remote BATCH_PREDICTION task: the BATCH_PREDICT_STATUS
        action is called with the job's text fields, its answer merged into `remote_job` and
        the state set from the job's status. Other tasks, and a connector without that
        action, are answered as stored (ml-commons would build a default status action for
        the providers it knows)."""
        if task.get("task_type") != "BATCH_PREDICTION" or task.get("function_name") != REMOTE:
            return task
        require_batch_inference(self.ml.settings)
        connector = self._connector_of(task)
        if _action(connector, "BATCH_PREDICT_STATUS") is None:
            return task
        remote_job = dict(task.get("remote_job") or {})
        parameters = {**remote_connector.connector_parameters(connector), **status_parameters(remote_job)}
        payload = _payload(connector, parameters, "BATCH_PREDICT_STATUS")
        await self.ml.predictor.elapse(self.ml.settings.remote_latency_seconds)
        answer = remote_connector.response_tensor(remote_connector.simulated_answer(parameters, payload), None)
        remote_job.update(answer["dataAsMap"])
        state = job_state(remote_job, self.ml.settings)
        self.ml.tasks.update(task_id, remote_job=remote_job, **({"state": state} if state else {}))
        return self.ml.tasks.get(task_id) or task
