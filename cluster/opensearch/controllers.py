"""ml-commons user-level rate limits (the controller API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class Controllers:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
