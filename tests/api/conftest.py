"""A real server on a loopback port for the official client, and aiohttp's test client."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from elasticsearch import AsyncElasticsearch

from api.app import create_app
from cluster.cluster import Cluster


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(clock="virtual")


@pytest.fixture
async def es(cluster: Cluster) -> AsyncIterator[AsyncElasticsearch]:
    """The official async client against the app served on a free port."""
    runner = web.AppRunner(create_app(cluster))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = AsyncElasticsearch(f"http://127.0.0.1:{port}")
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[TestClient]:
    """aiohttp's test client, for raw HTTP (bad bodies, headers, unknown routes)."""
    client = TestClient(TestServer(create_app(cluster)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
