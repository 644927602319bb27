"""Fixtures for the media layer: the shared corpus (when present) and media made on the spot.

Generated media come from ffmpeg's lavfi sources, so these tests pass on any clone; the corpus of
real files lives beside CI checkouts only, and tests needing it skip without it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from media_assets.local_ittybit.media import ffmpeg_exe

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
CORPUS_MISSING = "../shared/corpus not found: the shared media corpus is only beside CI checkouts"

MakeMedia = Callable[..., Path]


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder; skips the test when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(CORPUS_MISSING)
    return CORPUS


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-nostdin", *args], check=True, timeout=120)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all generated media of the session."""
    return tmp_path_factory.mktemp("generated-media")


@pytest.fixture(scope="session")
def make_media(media_dir: Path) -> MakeMedia:
    """``make_media(name, *ffmpeg_args)``: run ffmpeg once per name and return the file."""

    def make(name: str, *args: str) -> Path:
        path = media_dir / name
        if not path.exists():
            _ffmpeg(*args, str(path))
        return path

    return make


@pytest.fixture(scope="session")
def av_clip(make_media: MakeMedia) -> Path:
    """2 s, 320x240, 25 fps H.264 + stereo AAC, moov at the end (ffmpeg's default)."""
    return make_media(
        "av clip.mp4",
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"),
        *("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ac", "2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
        "-shortest",
    )


@pytest.fixture(scope="session")
def portrait_clip(make_media: MakeMedia, av_clip: Path) -> Path:
    """``av_clip`` stored landscape with a 90-degree display matrix, like a phone recording."""
    return make_media(
        "portrait.mp4", "-display_rotation:v:0", "90", "-i", str(av_clip), "-c", "copy"
    )


@pytest.fixture(scope="session")
def silent_clip(make_media: MakeMedia) -> Path:
    """1 s, 256x144 VP9 WebM without any audio stream."""
    return make_media(
        "silent.webm",
        *("-f", "lavfi", "-i", "testsrc=size=256x144:rate=25:duration=1"),
        *("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
    )


@pytest.fixture(scope="session")
def surround_wav(make_media: MakeMedia) -> Path:
    """1 s of 5.1 PCM at 96 kHz: too many channels and too high a rate for mp3."""
    return make_media(
        "surround.wav",
        *("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=96000:duration=1"),
        *("-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-c:a", "pcm_s16le"),
    )


@pytest.fixture(scope="session")
def alpha_png(make_media: MakeMedia) -> Path:
    """A 64x48 RGBA PNG, half transparent."""
    return make_media(
        "alpha.png",
        *("-f", "lavfi", "-i", "color=c=red@0.5:size=64x48,format=rgba"),
        *("-frames:v", "1", "-update", "1"),
    )


@pytest.fixture(scope="session")
def opaque_png(make_media: MakeMedia) -> Path:
    """A 64x48 PNG without alpha."""
    return make_media(
        "opaque.png",
        *("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", "-update", "1"),
    )


@pytest.fixture(scope="session")
def long_av_clip(make_media: MakeMedia) -> Path:
    """20 s, 640x360: slow enough to encode that a cancel lands mid-run."""
    return make_media(
        "long clip.mp4",
        *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=20"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    )
