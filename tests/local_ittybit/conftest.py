"""Fixtures that run the real local Ittybit service over real HTTP on a free loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest

from media_assets.local_ittybit import LocalService, RunningService, ServiceConfig


def simulate_config(data_dir: Path, **overrides: Any) -> ServiceConfig:
    """A simulate-engine config on a free port with fast, deterministic jobs."""
    settings: dict[str, Any] = {"port": 0, "engine": "simulate", "latency": (0.0, 0.02), "seed": 7}
    settings.update(overrides)
    return ServiceConfig(data_dir=data_dir, **settings)


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
    """A one-second 320x240 H.264/AAC mp4 made with the bundled ffmpeg."""
    clip = tmp_path_factory.mktemp("media") / "sample clip.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)]
    subprocess.run(
        command,
        check=True,
    )
    return clip


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-second 640x360 clip: long enough that encoding it takes a while."""
    clip = tmp_path_factory.mktemp("media") / "long.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=20"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)]
    subprocess.run(command, check=True)
    return clip
