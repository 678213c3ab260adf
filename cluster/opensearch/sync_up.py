"""ml-commons' sync-up cron (`MLSyncUpCron`): every `sync_up_job_interval_in_seconds` it
gathers what each node holds, fails deploy tasks that timed out, undeploys models whose
TTL expired on every worker, and corrects model states. (ml-commons also rebuilds its
routing table here; in mlsim the routing reads the nodes' caches directly: `workers.py`.)

The simpy process runs only while there is something to watch (a model DEPLOYING,
PARTIALLY_DEPLOYED or DEPLOYED, a deploy task in flight, a model on some node), so a
cluster without ml-commons models has no endless events. Ticks fall on multiples of the
interval in simulated time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import simpy

from .documents import MODEL_INDEX
from .model_states import ON_NODES_STATES

if TYPE_CHECKING:
    from .service import MlCommons

#: A DEPLOYING model without workers is left alone this long after its last update.
DEPLOY_GRACE_MS = 20_000
#: States whose models a sync-up looks at (with the deprecated LOAD* names).
WATCHED_STATES = ON_NODES_STATES | {"LOAD_FAILED", "DEPLOY_FAILED"}
ACTIVE_STATES = frozenset({"DEPLOYING", "PARTIALLY_DEPLOYED", "DEPLOYED"})


class SyncUpCron:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        self._process: simpy.Process | None = None

    def ensure_running(self) -> None:
        """Start ticking unless already ticking (an interval ≤ 0 disables the job)."""
        if self._process is not None and self._process.is_alive:
            return
        if self.ml.settings.sync_up_job_interval_in_seconds > 0:
            self._process = self.ml.env.process(self._loop())

    def _loop(self):
        env = self.ml.env
        while True:
            interval = self.ml.settings.sync_up_job_interval_in_seconds
            if interval <= 0:
                return
            yield env.timeout((math.floor(env.now / interval) + 1) * interval - env.now)
            self.run_once()
            if not self._watching():
                return

    def _watching(self) -> bool:
        deployer = self.ml.deployer
        if deployer.runs or deployer.local:
            return True
        return any(
            stored.source.get("model_state") in ACTIVE_STATES
            for stored in self.ml.store[MODEL_INDEX].docs.values()
        )

    # -- one run ----------------------------------------------------------------------

    def run_once(self) -> None:
        ml, deployer = self.ml, self.ml.deployer
        workers: dict[str, set[str]] = {}
        deploying: dict[str, set[str]] = {}
        expired: dict[str, set[str]] = {}
        loading_tasks: set[str] = set()
        for node_id, local in deployer.local:
            if local.state == "DEPLOYING":
                deploying.setdefault(local.model_id, set()).add(node_id)
                loading_tasks.add(local.task_id or "")
                continue
            workers.setdefault(local.model_id, set()).add(node_id)
            if 0 <= local.ttl_minutes and int(ml.env.now - local.last_access) >= local.ttl_minutes * 60:
                expired.setdefault(local.model_id, set()).add(node_id)
        self._time_out_tasks(loading_tasks)
        undeploy = [m for m, nodes in expired.items() if len(nodes) == len(workers[m])]
        if undeploy:
            deployer.undeploy(undeploy, cause="model TTL expired")
        self._refresh_states(workers, deploying)

    def _time_out_tasks(self, loading_tasks: set[str]) -> None:
        """ml-commons' `cleanUpLocalCache`: a task not updated for `ml_task_timeout_in_seconds`
        fails, except a deploy still CREATED that some node is loading."""
        ml = self.ml
        now = ml.clock.millis()
        timeout = ml.settings.ml_task_timeout_in_seconds
        for task_id in list(ml.deployer.runs):
            task = ml.tasks.get(task_id) or {}
            if now <= task.get("last_update_time", now) + timeout * 1000:
                continue
            if task.get("state") == "CREATED" and task_id in loading_tasks:
                continue
            del ml.deployer.runs[task_id]
            ml.tasks.update(task_id, state="FAILED", error=f"timeout after {timeout} seconds")
            ml.log.append("os_task_timeout", "sync-up", task_id=task_id)

    def _refresh_states(self, workers: dict[str, set[str]], deploying: dict[str, set[str]]) -> None:
        ml = self.ml
        now = ml.clock.millis()
        for model_id, stored in list(ml.store[MODEL_INDEX].docs.items()):
            doc = stored.source
            state = doc.get("model_state")
            if state not in WATCHED_STATES or "chunk_number" in doc:
                continue
            planning_count = doc.get("planning_worker_node_count") or 0
            planning = doc.get("planning_worker_nodes") or []
            fields: dict[str, Any] = {}
            if doc.get("deploy_to_all_nodes"):
                eligible = ml.deployer.eligible_nodes(doc.get("algorithm", ""))
                planning_count = len(eligible)
                if len(eligible) != len(planning) or not set(planning) <= set(eligible):
                    fields.update(planning_worker_nodes=eligible, planning_worker_node_count=len(eligible))
            current = len(workers.get(model_id, ()))
            new_state = new_model_state(
                state, bool(deploying.get(model_id)), current, planning_count,
                doc.get("current_worker_node_count") or 0, doc.get("last_updated_time"), now,
            )
            if new_state is not None:
                fields["model_state"] = new_state
            if fields:
                fields.update(last_updated_time=now, current_worker_node_count=current)
                ml.deployer.update_model(model_id, fields, "sync-up", touch=False)


def new_model_state(
    state: str, some_node_deploying: bool, workers: int, planning: int, workers_in_index: int,
    last_updated_ms: int | None, now_ms: int,
) -> str | None:
    """`MLSyncUpCron.getNewModelState`: the state a sync-up writes, or None to leave it."""
    if some_node_deploying and state != "DEPLOYING":
        return "DEPLOYING"
    in_grace = state == "DEPLOYING" and last_updated_ms is not None and last_updated_ms + DEPLOY_GRACE_MS > now_ms
    if workers == 0 and state != "DEPLOY_FAILED" and not in_grace:
        return "DEPLOY_FAILED"
    if workers > 0:
        if workers < planning and (state != "PARTIALLY_DEPLOYED" or workers_in_index != workers):
            return "PARTIALLY_DEPLOYED"
        if 0 < planning <= workers and state != "DEPLOYED":
            return "DEPLOYED"
    return None
