"""Fixtures that run the real local Ittybit service over real HTTP on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from media_clips import make_clip
from service_configs import simulate_config

from media_assets.local_ittybit import LocalService, RunningService, ServiceConfig


@pytest.fixture
def make_service_config() -> Callable[..., ServiceConfig]:
    """``start_service`` (tests/conftest.py) builds this folder's configs."""
    return simulate_config


@pytest.fixture
def client(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        yield http


@pytest.fixture
def subprocess_service(tmp_path: Path) -> Iterator[Callable[..., LocalService]]:
    """Start the service as a child process, as users run it."""
    started: list[LocalService] = []

    def start(**overrides: Any) -> LocalService:
        config = simulate_config(tmp_path / "child", **overrides)
        local = LocalService(config).start()
        started.append(local)
        return local

    yield start
    for local in started:
        local.stop(kill=True)


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-second 320x240 H.264/AAC mp4."""
    return make_clip(tmp_path_factory.mktemp("media") / "sample clip.mp4")


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s, 640x360, no sound: slow enough to encode that a cancel lands mid-run."""
    return make_clip(
        tmp_path_factory.mktemp("media") / "long clip.mp4",
        size="640x360",
        seconds=20,
        rate=30,
        audio=False,
        pattern="testsrc2",
    )
