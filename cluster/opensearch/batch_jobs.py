"""A batch-predict task's remote job: the parameters its status call is rendered with and
the task state its status maps to (ml-commons' `GetTaskTransportAction`).

Each of `remote_job.status_field` the job holds is matched in turn (the last match wins),
case-insensitively and anywhere in the value, against the `remote_job.status_regex.*`
settings in ml-commons' order: cancelling, cancelled, completed, expired, failed. A status
matching none leaves the state as it is.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .settings import PREFIX, MlCommonsSettings, field_less_value

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
    fields = field_less_value(settings, PREFIX + "remote_job.status_field")
    state = None
    for name in fields if isinstance(fields, list) else [fields]:
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
