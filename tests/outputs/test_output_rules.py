"""The output check's rules: what passes, and what each kind of wrong output is told."""

from __future__ import annotations

from typing import Any

import pytest

from media_assets.engine.stages import MediaFacts
from media_assets.outputs.checks import (
    CheckOutcome,
    check_output,
    expected_size,
    outcome_without_output,
)
from media_assets.outputs.inspect import OutputFacts
from media_assets.results import MediaResult, ResultStatus, Stage

SOURCE = MediaFacts(
    kind="video", has_audio=True, has_video=True, duration_s=10.0, width=1600, height=900
)
THUMBNAIL_OPTIONS = {"format": "webp", "width": 640, "start": 2}
TRANSCODE_OPTIONS = {"format": "mp4", "codec": "h264", "width": 1280, "quality": "medium"}
GOOD_THUMBNAIL = OutputFacts(
    kind="image", format="webp", video_codec="webp", width=640, height=360, picture_spread=40.0
)
GOOD_TRANSCODE = OutputFacts(
    kind="video",
    format="mp4",
    video_codec="h264",
    audio_codec="aac",
    width=1280,
    height=720,
    duration_s=10.02,
)


def thumbnail(**changes: Any) -> CheckOutcome:
    facts = OutputFacts(**{**GOOD_THUMBNAIL.__dict__, **changes})
    return check_output(Stage.THUMBNAIL, "image", THUMBNAIL_OPTIONS, SOURCE, facts)


def transcode(**changes: Any) -> CheckOutcome:
    facts = OutputFacts(**{**GOOD_TRANSCODE.__dict__, **changes})
    return check_output(Stage.TRANSCODED, "video", TRANSCODE_OPTIONS, SOURCE, facts)


def test_a_good_thumbnail_passes_and_says_what_was_checked() -> None:
    """Decodes, webp, 640x360 for a 16:9 source, not blank: passed, each named."""
    outcome = thumbnail()
    assert outcome.passed, outcome.summary
    assert outcome.summary == "decodes; webp (webp); 640x360 as asked; not blank"


def test_a_good_transcode_passes() -> None:
    """An h264 mp4 1280x720 lasting as long as the source passes."""
    outcome = transcode()
    assert outcome.passed, outcome.summary


def test_a_blank_thumbnail_fails() -> None:
    """A thumbnail of one flat colour fails as blank."""
    outcome = thumbnail(picture_spread=0.3)
    assert not outcome.passed
    assert "blank" in outcome.summary


def test_a_thumbnail_that_does_not_keep_the_aspect_fails() -> None:
    """640x480 from a 16:9 source is not the requested size with the aspect kept."""
    outcome = thumbnail(height=480)
    assert not outcome.passed
    assert "640x480, asked 640x360" in outcome.summary


def test_an_output_that_does_not_decode_fails_with_the_reason() -> None:
    """A decode error fails the check and is the message."""
    outcome = transcode(decode_error="t.mp4: it ends before 9.5 s, short of its 10.0 s")
    assert not outcome.passed
    assert outcome.summary == "does not decode: t.mp4: it ends before 9.5 s, short of its 10.0 s"


def test_a_duration_more_than_a_tenth_off_fails() -> None:
    """9.8 s from a 10 s source is more than 0.1 s apart; 9.95 s is not."""
    assert not transcode(duration_s=9.8).passed
    assert "lasts 9.80 s, the source 10.00 s" in transcode(duration_s=9.8).summary
    assert transcode(duration_s=9.95).passed


def test_a_requested_cut_sets_the_expected_duration() -> None:
    """With start 2 and end 5 the output should last 3 s."""
    facts = OutputFacts(**{**GOOD_TRANSCODE.__dict__, "duration_s": 3.0})
    options = {**TRANSCODE_OPTIONS, "start": 2, "end": 5}
    assert check_output(Stage.TRANSCODED, "video", options, SOURCE, facts).passed


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"format": "webm"}, "format webm, asked mp4"),
        ({"video_codec": "h265"}, "codec h265, asked h264"),
    ],
)
def test_another_format_or_codec_fails(changes: dict[str, Any], said: str) -> None:
    """The format and codec must be the requested ones."""
    outcome = transcode(**changes)
    assert not outcome.passed
    assert said in outcome.summary


def test_audio_is_checked_for_codec_and_duration() -> None:
    """An mp3 of the source's length passes; an aac in its place fails."""
    facts = OutputFacts(kind="audio", format="mp3", audio_codec="mp3", duration_s=10.0)
    options = {"format": "mp3", "quality": "high"}
    assert check_output(Stage.AUDIO, "audio", options, SOURCE, facts).passed
    wrong = OutputFacts(kind="audio", format="mp3", audio_codec="aac", duration_s=10.0)
    assert not check_output(Stage.AUDIO, "audio", options, SOURCE, wrong).passed


@pytest.mark.parametrize(
    ("options", "source", "expected"),
    [
        ({"width": 640}, (1600, 900), (640, 360)),
        ({"width": 640}, (320, 240), (320, 240)),  # never upscaled
        ({"height": 100}, (400, 300), (133, 100)),
        ({"width": "50%"}, (400, 300), (200, 150)),
        ({"width": 200, "height": 200}, (400, 300), (200, 200)),
        ({}, (360, 640), (360, 640)),
    ],
)
def test_expected_size(
    options: dict[str, Any], source: tuple[int, int], expected: tuple[int, int]
) -> None:
    """The requested size, the source's aspect kept, never larger than the source."""
    assert expected_size(options, *source) == expected


def test_a_stage_that_does_not_apply_passes_and_says_why() -> None:
    """Not applicable: passed, with the reason and no output to check."""
    result = MediaResult(
        partition_key="song.mp3-1",
        source_uri="file:///song.mp3",
        stage=Stage.THUMBNAIL,
        status=ResultStatus.NOT_APPLICABLE,
        error_message="audio-only source has no picture",
    )
    outcome = outcome_without_output(result)
    assert outcome is not None and outcome.passed
    assert outcome.summary.startswith("Not applicable: audio-only source has no picture")


def test_a_failed_stage_fails_with_its_reason() -> None:
    """Failed: the check fails and says why there is no output."""
    result = MediaResult(
        partition_key="broken.mp4-1",
        source_uri="file:///broken.mp4",
        stage=Stage.INGESTED,
        status=ResultStatus.FAILED,
        error_kind="invalid_input",
        error_message="broken.mp4: file is empty (0 bytes)",
    )
    outcome = outcome_without_output(result)
    assert outcome is not None and not outcome.passed
    assert outcome.summary == (
        "No output: ingested failed: invalid_input: broken.mp4: file is empty (0 bytes)"
    )
