"""ml-commons connectors (create, get, update, delete, search)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class Connectors:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
