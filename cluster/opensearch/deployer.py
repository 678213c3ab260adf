"""ml-commons deploy and undeploy on the simulated ML nodes, sync-up and auto-redeploy."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import MlCommons


class Deployer:
    def __init__(self, ml: MlCommons) -> None:
        self.ml = ml
