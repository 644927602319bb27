"""Fixtures of the engine tests: the real local service and a client for it.

The engine knows nothing of Dagster: these tests drive ``FileChain`` and ``run_batch`` directly
against the local service running in a thread (simulate engine, or the hosted profile with the
ffmpeg engine), and read back what it did over HTTP. Generated media is served over a loopback
HTTP server, also under misleading names (an mp3 called ``.mp4``, a png with no extension), as
libraries hold them.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chain_helpers import HOSTED_KEY, StartHosted
from engine_helpers import ServiceView
from media_clips import make_clip, make_still, make_tone
from service_configs import simulate_config
from static_http import serve_folder

from media_assets.ittybit import IttybitClient
from media_assets.local_ittybit import RunningService, ServiceConfig
from media_assets.local_ittybit.server import running_in_thread

# served name -> the generated file whose bytes it holds
MISLABELLED = {"tone-really.mp4": "tone.mp3", "clip-really.mp3": "clip.mp4", "picture": "still.png"}

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


@pytest.fixture(scope="session")
def media_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chain-media")
    make_clip(folder / "clip.mp4", size="320x240", seconds=1)
    make_tone(folder / "tone.mp3", seconds=1)
    make_still(folder / "still.png", size="320x240")
    for name, source in MISLABELLED.items():
        shutil.copyfile(folder / source, folder / name)
    return folder


@pytest.fixture
def media_url(media_folder: Path) -> Iterator[str]:
    """The base URL the generated media is served at, over a real loopback HTTP server."""
    with serve_folder(media_folder) as base_url:
        yield base_url


@pytest.fixture
def start_hosted(tmp_path: Path) -> Iterator[StartHosted]:
    """Start hosted-profile services (``--compat hosted``) in this process; stopped at teardown."""
    with contextlib.ExitStack() as stack:
        count = 0

        def start(**overrides: Any) -> RunningService:
            nonlocal count
            count += 1
            settings: dict[str, Any] = {
                "port": 0,
                "engine": "ffmpeg",
                "workers": 2,
                "compat": "hosted",
                "api_key": HOSTED_KEY,
                **overrides,
            }
            config = ServiceConfig(data_dir=tmp_path / f"hosted-{count}", **settings)
            return stack.enter_context(running_in_thread(config))

        yield start
