"""A real server on a loopback port for `opensearch-py`, and aiohttp's test client for raw HTTP."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opensearchpy import AsyncOpenSearch

from api.app import create_app
from cluster.cluster import Cluster


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
    runner = web.AppRunner(create_app(cluster))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = AsyncOpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], use_ssl=False)
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[TestClient]:
    """aiohttp's test client, for raw HTTP (bad bodies, exact status and headers)."""
    client = TestClient(TestServer(create_app(cluster)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
