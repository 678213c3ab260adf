"""ml-commons model- and user-level token buckets per worker node.

Each node that serves a model keeps one bucket for the model's `rate_limiter` and one per
user named in the model's controller; a limit of L per unit on N worker nodes lets each
node take L/N per unit, so the cluster as a whole takes about L. The buckets are node
caches: built full from the model and controller documents, and rebuilt full when the
limiter, the controller, the set of worker nodes changes, or an update refreshes the
model's caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .documents import CONTROLLER_INDEX, MODEL_INDEX
from .errors import os_status
from .rate_limiter import RateLimiter, TokenBucket

if TYPE_CHECKING:
    from .service import MlCommons

MODEL_THROTTLED = "Request is throttled at model level."
USER_THROTTLED = "Request is throttled at user level. If you think there's an issue, please contact your cluster admin."

#: (model id, node id, user name or None for the model-level bucket)
BucketKey = tuple[str, str, "str | None"]


class RateLimits:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
        self._buckets: dict[BucketKey, tuple[tuple, TokenBucket | None]] = {}
        #: Bumped when a model's (False) or its controller's (True) caches are redeployed.
        self._epochs: dict[tuple[str, bool], int] = {}

    def check(self, model_id: str, node_id: str, user: str | None) -> None:
        """Take a token for one predict request served on `node_id`, or raise 429.

        The model-level bucket is asked first; a request it lets through has spent its token
        even when the user-level bucket then refuses it, as in ml-commons.
        """
        model = self.ml.store[MODEL_INDEX].source(model_id)  # per request: no copy
        if model is None:
            return
        if not self._take(model_id, node_id, None, RateLimiter.from_doc(model.get("rate_limiter"))):
            raise os_status(429, MODEL_THROTTLED)
        if user is not None and not self._take(model_id, node_id, user, self._user_limiter(model_id, user)):
            raise os_status(429, USER_THROTTLED)

    def refresh(self, model_id: str) -> list[str]:
        """Rebuild the model-level buckets on every node (the update's cache broadcast).

        Returns the worker nodes on which the new limiter can't become a bucket (a zero
        limit), which ml-commons reports as failed cache updates.
        """
        self._bump(model_id, users=False)
        model = self.ml.store[MODEL_INDEX].get(model_id) or {}
        limiter = RateLimiter.from_doc(model.get("rate_limiter"))
        try:
            if limiter is not None:
                limiter.bucket(1, self.ml.env.now)
        except ValueError:
            return self.ml.workers.nodes(model_id)
        return []

    def refresh_users(self, model_id: str) -> None:
        """Rebuild the user-level buckets (the controller was deployed to or removed from the caches)."""
        self._bump(model_id, users=True)

    def forget(self, model_id: str) -> None:
        """Drop a deleted model's buckets on every node, model- and user-level."""
        for key in [key for key in self._buckets if key[0] == model_id]:
            del self._buckets[key]
        for users in (False, True):
            self._epochs.pop((model_id, users), None)

    def _bump(self, model_id: str, users: bool) -> None:
        self._epochs[model_id, users] = self._epochs.get((model_id, users), 0) + 1

    def _user_limiter(self, model_id: str, user: str) -> RateLimiter | None:
        controller = self.ml.store[CONTROLLER_INDEX].source(model_id) or {}
        return RateLimiter.from_doc((controller.get("user_rate_limiter") or {}).get(user))

    def _take(self, model_id: str, node_id: str, user: str | None, limiter: RateLimiter | None) -> bool:
        if limiter is None or not limiter.valid:
            return True  # a limit without a unit (or no limiter) throttles nothing
        workers = len(self.ml.workers.nodes(model_id))
        signature = (
            limiter,
            workers,
            self.ml.workers.generation.get(model_id, 0),
            self._epochs.get((model_id, user is not None), 0),
        )
        key = (model_id, node_id, user)
        entry = self._buckets.get(key)
        if entry is None or entry[0] != signature:
            try:
                bucket = limiter.bucket(workers, self.ml.env.now)
            except ValueError:
                bucket = None  # the node could not build it: nothing throttles there
            entry = self._buckets[key] = (signature, bucket)
        bucket = entry[1]
        return bucket is None or bucket.request(self.ml.env.now)
