"""Serving the real app for tests: on a free loopback port for the official clients, and
through aiohttp's test client for raw HTTP. Each test package's `cluster` fixture says what
is served."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import Extension, create_app
from cluster.cluster import Cluster


@contextlib.asynccontextmanager
async def served(cluster: Cluster, extensions: Sequence[Extension] = ()) -> AsyncIterator[int]:
    """The app for `cluster` (with `extensions`) listening on a free loopback port; yields the port."""
    runner = web.AppRunner(create_app(cluster, extensions))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
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
