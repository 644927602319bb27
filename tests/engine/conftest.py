"""Fixtures of the chain tests: generated media served over loopback HTTP, hosted-profile services.

Media is made with the bundled ffmpeg; the same bytes are also served under misleading names
(an mp3 called ``.mp4``, a png with no extension), as libraries hold them.
"""

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chain_helpers import HOSTED_KEY, StartHosted
from static_http import serve_folder

from media_assets.cli.demo_library import render_recipes
from media_assets.local_ittybit import RunningService, ServiceConfig
from media_assets.local_ittybit.server import running_in_thread

_RECIPES: dict[str, list[str]] = {
    "clip.mp4": [
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest",
    ],
    "tone.mp3": [
        "-f", "lavfi", "-i", "sine=frequency=220:duration=1", "-c:a", "libmp3lame", "-q:a", "6",
    ],
    "still.png": ["-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1"],
}  # fmt: skip
# served name -> the generated file whose bytes it holds
MISLABELLED = {"tone-really.mp4": "tone.mp3", "clip-really.mp3": "clip.mp4", "picture": "still.png"}


@pytest.fixture(scope="session")
def media_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chain-media")
    render_recipes(folder, _RECIPES)
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
