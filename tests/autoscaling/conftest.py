"""Autoscaling fixtures: clusters in the virtual clock with the settings a hosted ML tier
has, and the official client against the served app."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from elasticsearch import AsyncElasticsearch

from cluster.cluster import Cluster
from cluster.settings import ClusterSettings
from nodes.resources import GiB
from scheduler.memory import MiB
from tests.conftest import served

#: Roles of the simulated ML nodes: a policy owns the nodes whose roles are exactly these.
ML_ROLES = ["ml", "remote_cluster_client"]


def auto_cluster(**settings: object) -> Cluster:
    """Auto machine-memory percent (as hosted ML nodes run), 64 GB largest node."""
    values = {"use_auto_machine_memory_percent": True, "max_ml_node_size": 64 * GiB, **settings}
    return Cluster(ClusterSettings(**values), clock="virtual")  # type: ignore[arg-type]


def add_model(cluster: Cluster, model_id: str, mib: int) -> None:
    cluster.add_pytorch_model(model_id, mib * MiB)


@contextlib.asynccontextmanager
async def client(cluster: Cluster) -> AsyncIterator[AsyncElasticsearch]:
    async with served(cluster) as port:
        es = AsyncElasticsearch(f"http://127.0.0.1:{port}")
        try:
            yield es
        finally:
            await es.close()
