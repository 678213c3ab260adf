"""ml-commons predict: enable flag, rate limits, guardrails, interfaces, local and remote answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class Predictor:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
