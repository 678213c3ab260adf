"""ml-commons model registration, get, search and delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class Models:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
