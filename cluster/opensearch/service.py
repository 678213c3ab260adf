"""`MlCommons`: OpenSearch's ml-commons plugin running on the simulated cluster.

It shares the cluster's simpy environment, clock, event log and ML nodes: local models load
on the same nodes as Elasticsearch deployments and take from the same node memory. Each
part (groups, connectors, models, deploy, update, predict, rate limits) is its own module;
this class only builds them and holds what they share.
"""

from __future__ import annotations

import numpy as np
import simpy

from ..clock import SimClock
from ..events import EventLog
from ..state import ClusterState
from .batch_jobs import BatchJobs
from .connectors import Connectors
from .controllers import Controllers
from .deployer import Deployer
from .documents import DocumentStore
from .model_groups import ModelGroups
from .models import Models
from .predict import Predictor
from .rate_limits import RateLimits
from .settings import MlCommonsSettings
from .stats import MlStats
from .tasks import Tasks
from .training import Training
from .updates import ModelUpdates
from .workers import ModelWorkers


class MlCommons:
    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        state: ClusterState,
        log: EventLog,
        rng: np.random.Generator,
        settings: MlCommonsSettings | None = None,
    ) -> None:
        self.env = env
        self.clock = clock
        self.state = state
        self.log = log
        self.rng = rng
        self.settings = settings or MlCommonsSettings()
        self.store = DocumentStore()
        self.tasks = Tasks(self.store, rng, clock.millis)
        self.stats = MlStats(self)
        self.groups = ModelGroups(self)
        self.connectors = Connectors(self)
        self.models = Models(self)
        self.deployer = Deployer(self)
        self.workers = ModelWorkers(self.deployer.local)
        self.rate_limits = RateLimits(self)
        self.controllers = Controllers(self)
        self.updates = ModelUpdates(self)
        self.predictor = Predictor(self)
        self.training = Training(self)
        self.batch_jobs = BatchJobs(self)
