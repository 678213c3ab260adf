"""The Elasticsearch dialect's fixtures: a bare virtual-clock cluster and the official client."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch

from cluster.cluster import Cluster
from tests.conftest import served


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(clock="virtual")


@pytest.fixture
async def es(cluster: Cluster) -> AsyncIterator[AsyncElasticsearch]:
    """The official async client against the app served on a free port."""
    async with served(cluster) as port:
        client = AsyncElasticsearch(f"http://127.0.0.1:{port}")
        try:
            yield client
        finally:
            await client.close()
