import pytest

from cluster.cluster import Cluster
from scheduler.memory import MiB

#: With the default timing (2 s process start, 100 MiB/s) a 100 MiB model loads in 3 s.
MODEL_BYTES = 100 * MiB
LOAD_SECONDS = 3.0


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(seed=7)


@pytest.fixture
def two_nodes(cluster: Cluster) -> tuple[str, str]:
    return cluster.add_node("ml-a", processors=4, zone="a"), cluster.add_node("ml-b", processors=4, zone="b")


def routes(cluster: Cluster, deployment_id: str) -> dict[str, tuple[int, int, str]]:
    table = cluster.assignment(deployment_id).routes
    return {node: (r.current_allocations, r.target_allocations, r.routing_state) for node, r in table.items()}


def events(cluster: Cluster, kind: str) -> list[dict]:
    return [e.to_dict() for e in cluster.log if e.kind == kind]
