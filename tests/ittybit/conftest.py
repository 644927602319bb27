"""Fixtures for the Ittybit client tests: the REAL local service on a free loopback port.

No mock of the service: every client test talks HTTP to ``media_assets.local_ittybit`` running
in a background thread (``running_in_thread``) or, for restarts, in a child process
(``LocalService``). Async tests run on asyncio through anyio's pytest plugin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ittybit_client_helpers import FAST_POLL, FAST_RETRY, MakeClient, service_config
from media_clips import make_clip

from media_assets.ittybit import IttybitClient
from media_assets.ittybit import retry as retry_module
from media_assets.local_ittybit import LocalService, RunningService, ServiceConfig


@pytest.fixture
def anyio_backend() -> str:
    """The client is asyncio code; run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture(autouse=True)
def reset_retry_switches() -> Iterator[None]:
    """Every test starts and ends with retries on and sleeping between attempts."""
    retry_module.set_active(True)
    retry_module.set_testing(False)
    yield
    retry_module.set_active(True)
    retry_module.set_testing(False)


@pytest.fixture
def make_service_config() -> Callable[..., ServiceConfig]:
    """``start_service`` (tests/conftest.py) builds this folder's configs."""
    return service_config


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build clients for a base URL with fast polls and retries; all are closed at teardown."""
    clients: list[IttybitClient] = []

    def make(base_url: str, **kwargs: Any) -> IttybitClient:
        kwargs.setdefault("poll", FAST_POLL)
        kwargs.setdefault("retry", FAST_RETRY)
        made = IttybitClient(base_url=base_url, **kwargs)
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


@pytest.fixture
def client(service: RunningService, make_client: MakeClient) -> IttybitClient:
    """A client for the default simulate service."""
    return make_client(service.base_url)


@pytest.fixture
def subprocess_service(tmp_path: Path) -> Iterator[Callable[..., LocalService]]:
    """Start the service as a child process, as users run it; killed at teardown."""
    started: list[LocalService] = []

    def start(**overrides: Any) -> LocalService:
        local = LocalService(service_config(tmp_path / "child", **overrides)).start()
        started.append(local)
        return local

    yield start
    for local in started:
        local.stop(kill=True)


@pytest.fixture(scope="session")
def two_second_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s 640x360 H.264/AAC mp4."""
    return make_clip(
        tmp_path_factory.mktemp("client-media") / "test clip.mp4", size="640x360", seconds=2
    )
