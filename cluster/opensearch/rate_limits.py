"""ml-commons model- and user-level token buckets per worker node."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class RateLimits:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
