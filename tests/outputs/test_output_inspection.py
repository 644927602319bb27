"""Reading real output files: facts, decoding to the end, and telling a flat picture apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_clips import make_clip, make_still, make_tone

from media_assets.outputs.checks import BLANK_SPREAD
from media_assets.outputs.inspect import inspect_output


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outputs")
    make_clip(folder / "clip.mp4", size="320x180", seconds=3)
    make_clip(folder / "black.mp4", size="320x180", seconds=1, pattern="black", audio=False)
    make_still(folder / "still.webp", size="64x36")
    make_tone(folder / "tone.mp3", seconds=3)
    return folder


def test_a_clip_is_described_and_decodes(media: Path) -> None:
    """An h264/aac mp4 reports its format, codecs, size and duration, and decodes to its end."""
    facts = inspect_output(media / "clip.mp4")
    assert facts.decode_error is None
    assert (facts.format, facts.video_codec, facts.audio_codec) == ("mp4", "h264", "aac")
    assert (facts.width, facts.height) == (320, 180)
    assert facts.duration_s == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("name", ["clip.mp4", "tone.mp3"])
def test_a_file_cut_short_does_not_decode(media: Path, tmp_path: Path, name: str) -> None:
    """The first 40 % of a file is reported as not decoding, whatever its header promises."""
    data = (media / name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: int(len(data) * 0.4)])
    assert inspect_output(cut).decode_error is not None


def test_a_picture_of_one_colour_is_flat(media: Path) -> None:
    """A black frame measures below the blank threshold; a test pattern well above it."""
    black = inspect_output(media / "black.mp4").picture_spread
    pattern = inspect_output(media / "still.webp").picture_spread
    assert black is not None and black < BLANK_SPREAD
    assert pattern is not None and pattern > 10 * BLANK_SPREAD


def test_something_that_is_not_media_is_reported(tmp_path: Path) -> None:
    """A text file is reported as not decoding, naming the file."""
    text = tmp_path / "notes.webp"
    text.write_text("not a picture\n" * 10)
    error = inspect_output(text).decode_error
    assert error is not None and "notes.webp" in error
