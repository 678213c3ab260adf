"""ml-commons the update model API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class ModelUpdates:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
