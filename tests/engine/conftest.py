"""Fixtures of the engine tests: the real local service (simulate engine) and a client for it.

The engine knows nothing of Dagster: these tests drive ``FileChain`` and ``run_batch`` directly
against the local service running in a thread, and read back what it did over HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable

import pytest
from engine_helpers import ServiceView
from service_configs import simulate_config

from media_assets.ittybit import IttybitClient
from media_assets.local_ittybit import RunningService, ServiceConfig

MakeClient = Callable[[RunningService], IttybitClient]


@pytest.fixture
def anyio_backend() -> str:
    """The engine is asyncio code; run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def make_service_config() -> Callable[..., ServiceConfig]:
    """``start_service`` (tests/conftest.py) builds this folder's configs."""
    return functools.partial(simulate_config, latency=(0.0, 0.05), seed=5)


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Clients for a service, as the pipeline makes them (default policies); closed at teardown."""
    clients: list[IttybitClient] = []

    def make(service: RunningService) -> IttybitClient:
        client = IttybitClient(base_url=service.base_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(service: RunningService, make_client: MakeClient) -> IttybitClient:
    """A client for the default simulate service."""
    return make_client(service)


@pytest.fixture
def view(service: RunningService) -> ServiceView:
    """The default service's own view of its jobs."""
    return ServiceView(service.base_url)
