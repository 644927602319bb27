"""probe_file on media generated with the bundled ffmpeg (no corpus needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_clips import make_clip, make_still, make_tone

from media_assets.local_ittybit.media import MediaError, probe_file


def test_video_with_audio_is_described(av_clip: Path) -> None:
    """A plain mp4 reports kind, format, size, duration, codecs and both streams."""
    info = probe_file(av_clip)
    assert info["object"] == "file"
    assert (info["kind"], info["format"], info["type"]) == ("video", "mp4", "video/mp4")
    assert (info["width"], info["height"], info["orientation"]) == (320, 240, "landscape")
    assert info["duration"] == pytest.approx(2.0, abs=0.1)
    assert info["fps"] == pytest.approx(25)
    assert info["codecs"] == {"video": "h264", "audio": "aac"}
    assert (info["has_video"], info["has_audio"], info["channels"]) == (True, True, 2)
    assert info["filesize"] == av_clip.stat().st_size
    assert info["bitrate"] and info["bitrate"] > 0
    assert info["animated"] is False and info["transparency"] is False


def test_rotation_metadata_gives_display_size(portrait_clip: Path) -> None:
    """A landscape-coded clip with a 90-degree display matrix reports portrait display size."""
    info = probe_file(portrait_clip)
    assert (info["width"], info["height"]) == (240, 320)
    assert info["orientation"] == "portrait"
    assert info["rotation"] in (90, 270)


def test_audio_only_wav(surround_wav: Path) -> None:
    """A WAV is kind audio with its channel count and rate, and no picture facts."""
    info = probe_file(surround_wav)
    assert (info["kind"], info["format"], info["has_video"]) == ("audio", "wav", False)
    assert (info["channels"], info["sample_rate"]) == (6, 96000)
    assert info["width"] is None and info["codecs"]["video"] is None


def test_cover_art_does_not_make_a_video(tmp_path: Path, opaque_png: Path) -> None:
    """An mp3 carrying an attached picture is still kind audio."""
    mp3 = make_tone(tmp_path / "with cover.mp3", cover=opaque_png)
    info = probe_file(mp3)
    assert (info["kind"], info["format"], info["has_video"]) == ("audio", "mp3", False)
    assert info["codecs"] == {"video": None, "audio": "mp3"}


def test_images_report_transparency(alpha_png: Path, opaque_png: Path) -> None:
    """Still images are kind image without duration; real alpha is detected from pixels."""
    alpha, opaque = probe_file(alpha_png), probe_file(opaque_png)
    assert (alpha["kind"], alpha["format"], alpha["duration"]) == ("image", "png", None)
    assert (alpha["width"], alpha["height"], alpha["frames"]) == (64, 48, 1)
    assert alpha["transparency"] is True
    assert opaque["transparency"] is False


def test_animated_gif_is_video_and_still_gif_is_image(tmp_path: Path) -> None:
    """A many-frame GIF is an animated video; a one-frame GIF is an image."""
    animated = make_clip(tmp_path / "animated.gif", size="64x64", rate=10, audio=False)
    still = make_still(tmp_path / "still.gif", size="64x64")
    moving = probe_file(animated)
    assert (moving["kind"], moving["animated"], moving["frames"]) == ("video", True, 10)
    assert moving["duration"] == pytest.approx(1.0, abs=0.1)
    assert probe_file(still)["kind"] == "image"


def _probe_error(path: Path) -> MediaError:
    with pytest.raises(MediaError) as caught:
        probe_file(path)
    assert caught.value.kind == "invalid_input"
    assert path.name in caught.value.message
    return caught.value


def test_broken_files_raise_media_error_with_the_file_name(tmp_path: Path, av_clip: Path) -> None:
    """Missing, empty, non-media and truncated files all raise invalid_input naming the file."""
    assert "not found" in _probe_error(tmp_path / "missing.mp4").message
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    assert "empty" in _probe_error(empty).message
    text = tmp_path / "notes.mp4"
    text.write_text('{"this": "is json"}')
    _probe_error(text)
    cut = tmp_path / "cut.mp4"  # ffmpeg writes moov last, so the head alone has no moov
    cut.write_bytes(av_clip.read_bytes()[:4000])
    assert "moov" in _probe_error(cut).message
    assert "not a regular file" in _probe_error(tmp_path).message


def test_video_without_audio(silent_clip: Path) -> None:
    """A WebM with only a VP9 stream has no audio and is named webm."""
    info = probe_file(silent_clip)
    assert (info["format"], info["codecs"]["video"], info["has_audio"]) == ("webm", "vp9", False)
    assert info["stream_index"] == {"video": 0, "audio": None}
