"""Reading real output files: facts, decoding to the end, and telling a flat picture apart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from media_clips import make_clip, make_still, make_tone

from media_assets.engine.stages import MediaFacts
from media_assets.ittybit import File
from media_assets.local_ittybit.media import encode, probe_file
from media_assets.outputs.checks import BLANK_SPREAD, check_output
from media_assets.outputs.inspect import inspect_output
from media_assets.results import Stage


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


@pytest.fixture(scope="module")
def ladder(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HLS ladder the local service's engine made of the 3 s clip; its master playlist."""
    master = tmp_path_factory.mktemp("ladder") / "clip.m3u8"
    encode("adaptive_video", {"format": "hls"}, media / "clip.mp4", master)
    return master


def test_an_hls_ladder_passes_the_adaptive_video_check(media: Path, ladder: Path) -> None:
    """A ladder is read through its master playlist, and lasts as long as its source."""
    source = MediaFacts.from_probe(File.model_validate(probe_file(media / "clip.mp4")))
    facts = inspect_output(ladder)
    outcome = check_output(Stage.ADAPTIVE_VIDEO, "adaptive_video", {"format": "hls"}, source, facts)
    assert (facts.format, facts.video_codec) == ("hls", "h264")
    assert outcome.passed, outcome.summary


def test_an_hls_ladder_missing_its_segments_fails(ladder: Path, tmp_path: Path) -> None:
    """A master playlist whose renditions' segments are gone does not decode."""
    broken = tmp_path / "ladder"
    shutil.copytree(ladder.parent, broken)
    for segment in broken.rglob("*.ts"):
        segment.unlink()
    facts = inspect_output(broken / ladder.name)
    assert facts.decode_error is not None
    assert ladder.name in facts.decode_error
