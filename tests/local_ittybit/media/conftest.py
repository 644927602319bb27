"""Fixtures for the media layer: the shared corpus (when present) and media made on the spot.

Generated media come from ``media_clips`` (ffmpeg's test sources), so these tests pass on any
clone; the corpus of real files lives beside CI checkouts only, and tests needing it skip without
it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from media_clips import make_clip, make_still, make_tone

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
CORPUS_MISSING = "../shared/corpus not found: the shared media corpus is only beside CI checkouts"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder; skips the test when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(CORPUS_MISSING)
    return CORPUS


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all generated media of the session."""
    return tmp_path_factory.mktemp("generated-media")


@pytest.fixture(scope="session")
def av_clip(media_dir: Path) -> Path:
    """2 s, 320x240, 25 fps H.264 + stereo AAC, moov at the end (ffmpeg's default)."""
    return make_clip(media_dir / "av clip.mp4", seconds=2, channels=2, pattern="testsrc2")


@pytest.fixture(scope="session")
def portrait_clip(media_dir: Path) -> Path:
    """``av_clip`` stored landscape with a 90-degree display matrix, like a phone recording."""
    return make_clip(
        media_dir / "portrait.mp4", seconds=2, channels=2, pattern="testsrc2", rotation=90
    )


@pytest.fixture(scope="session")
def silent_clip(media_dir: Path) -> Path:
    """1 s, 256x144 VP9 WebM without any audio stream."""
    return make_clip(media_dir / "silent.webm", size="256x144", audio=False)


@pytest.fixture(scope="session")
def surround_wav(media_dir: Path) -> Path:
    """1 s of 5.1 PCM at 96 kHz: too many channels and too high a rate for mp3."""
    return make_tone(media_dir / "surround.wav", channels=6, sample_rate=96_000)


@pytest.fixture(scope="session")
def alpha_png(media_dir: Path) -> Path:
    """A 64x48 RGBA PNG, half transparent."""
    return make_still(media_dir / "alpha.png", size="64x48", alpha=True)


@pytest.fixture(scope="session")
def opaque_png(media_dir: Path) -> Path:
    """A 64x48 PNG without alpha."""
    return make_still(media_dir / "opaque.png", size="64x48")
