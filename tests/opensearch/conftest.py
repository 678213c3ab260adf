"""The OpenSearch dialect's fixtures: two ML nodes in the virtual clock and `opensearch-py`."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from tests.conftest import served


@pytest.fixture
def cluster() -> Cluster:
    """Two 16 GB / 8-processor ML nodes in the virtual clock."""
    cluster = Cluster(clock="virtual")
    cluster.add_node("ml-1", memory_gb=16, processors=8)
    cluster.add_node("ml-2", memory_gb=16, processors=8)
    return cluster


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[AsyncOpenSearch]:
    """The official async client against the app served on a free port."""
    async with served(cluster) as port:
        client = AsyncOpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], use_ssl=False)
        try:
            yield client
        finally:
            await client.close()
