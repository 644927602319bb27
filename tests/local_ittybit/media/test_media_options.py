"""Option validation and normalisation for video, audio, image and animation jobs."""

from __future__ import annotations

from typing import Any

import pytest

from media_assets.local_ittybit.media import MediaError, output_extension, validate_options


def _error(kind: str, options: dict[str, Any] | None) -> MediaError:
    with pytest.raises(MediaError) as caught:
        validate_options(kind, options)
    assert caught.value.kind == "invalid_input"
    return caught.value


def test_defaults_are_filled_per_kind() -> None:
    """Empty options get the documented defaults for every kind."""
    assert validate_options("video", None) == {
        "format": "mp4",
        "codec": "h264",
        "quality": "medium",
        "fit": "fill",
        "position": "center",
    }
    assert validate_options("audio", {}) == {"format": "mp3", "quality": "medium"}
    image = validate_options("image", {})
    assert (image["format"], image["start"], image["quality"]) == ("webp", 0, "medium")
    animation = validate_options("animation", {})
    assert (animation["format"], animation["fps"], animation["start"]) == ("gif", 10, 0)


@pytest.mark.parametrize(
    ("given", "format_", "codec"),
    [
        ({"format": "webm"}, "webm", "vp9"),
        ({"codec": "vp9"}, "webm", "vp9"),
        ({"codec": "av1"}, "mp4", "av1"),
        ({"format": "webm", "codec": "av1"}, "webm", "av1"),
        ({"format": "mov", "codec": "hevc"}, "mov", "h265"),
    ],
)
def test_video_format_and_codec_complete_each_other(
    given: dict[str, Any], format_: str, codec: str
) -> None:
    """A missing format or codec is derived from the other one (hevc is read as h265)."""
    opts = validate_options("video", given)
    assert (opts["format"], opts["codec"]) == (format_, codec)


@pytest.mark.parametrize(
    ("given", "needs"),
    [({"format": "mp4", "codec": "vp9"}, "webm"), ({"format": "webm", "codec": "h264"}, "mp4")],
)
def test_codec_container_mismatch_is_refused(given: dict[str, Any], needs: str) -> None:
    """vp9 only goes in webm, h264/h265 only in mp4/mov."""
    assert needs in _error("video", given).message


def test_unknown_option_names_key_and_kind() -> None:
    """An unknown key is refused with the key and the job kind in the message."""
    assert _error("video", {"colour": "red"}).message.startswith(
        "unknown option 'colour' for kind video"
    )
    assert "'fps'" in _error("audio", {"fps": 30}).message


@pytest.mark.parametrize(
    ("kind", "options", "fragment"),
    [
        ("video", {"quality": "ultra"}, "quality"),
        ("video", {"fit": "stretch"}, "fit"),
        ("audio", {"format": "m4a"}, "format"),
        ("image", {"format": "gif"}, "format"),
        ("video", {"fps": 0}, "fps"),
        ("video", {"fps": 61}, "fps"),
        ("video", {"bitrate": 100_000}, "bitrate"),
        ("audio", {"bitrate": 500_000}, "bitrate"),
        ("video", {"width": 0}, "width"),
        ("video", {"width": -4}, "width"),
        ("video", {"width": True}, "width"),
        ("video", {"width": 10.5}, "width"),
        ("video", {"height": "150%"}, "height"),
        ("video", {"height": "tall"}, "height"),
        ("video", {"start": -1}, "start"),
        ("audio", {"start": 5, "end": 5}, "end"),
        ("video", {"background": "red"}, "background"),
        ("image", {"position": "middle-ish"}, "position"),
    ],
)
def test_bad_values_are_refused(kind: str, options: dict[str, Any], fragment: str) -> None:
    """Out-of-range or mistyped values raise invalid_input naming the option."""
    assert fragment in _error(kind, options).message


def test_values_are_normalised() -> None:
    """Percentages, colours, enum spellings and aliases come back in one canonical form."""
    opts = validate_options(
        "image",
        {
            "format": "JPG",
            "width": " 50.0 %",
            "height": 200.0,
            "background": "#FFF",
            "position": "top-left",
            "quality": "Very_High",
        },
    )
    assert opts["format"] == "jpeg"
    assert opts["width"] == "50%"
    assert opts["height"] == 200
    assert opts["background"] == "#ffffff"
    assert opts["position"] == "top_left"
    assert opts["quality"] == "very_high"


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("video", {"codec": "vp9", "width": "25%", "fps": 29.97, "start": 1, "end": 2.5}),
        ("audio", {"format": "opus", "bitrate": 64_000}),
        ("image", {"format": "png", "height": 90, "fit": "cover"}),
        ("animation", {"format": "webp", "end": 3}),
        ("adaptive_video", {"width": 1280, "quality": "high"}),
    ],
)
def test_validation_is_idempotent(kind: str, options: dict[str, Any]) -> None:
    """Normalised options validate to themselves, so they can be stored and re-checked."""
    once = validate_options(kind, options)
    assert validate_options(kind, once) == once


def test_unknown_kind_and_non_mapping_options_are_refused() -> None:
    """Only the five encode kinds exist, and options must be an object."""
    assert "slideshow" in _error("slideshow", {}).message
    with pytest.raises(MediaError, match="options must be an object"):
        validate_options("video", ["mp4"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "options", "extension"),
    [
        ("video", {}, "mp4"),
        ("video", {"codec": "vp9"}, "webm"),
        ("video", {"format": "mov"}, "mov"),
        ("audio", {}, "mp3"),
        ("audio", {"format": "aac"}, "aac"),
        ("audio", {"format": "opus"}, "opus"),
        ("image", {}, "webp"),
        ("image", {"format": "jpeg"}, "jpg"),
        ("animation", {}, "gif"),
    ],
)
def test_output_extension_follows_format(
    kind: str, options: dict[str, Any], extension: str
) -> None:
    """The output name's extension is known from the options alone."""
    assert output_extension(kind, options) == extension


def test_adaptive_video_is_hls_named_by_its_master_playlist() -> None:
    """adaptive_video defaults to (and only takes) format hls; its output is an .m3u8."""
    assert validate_options("adaptive_video", {})["format"] == "hls"
    assert output_extension("adaptive_video", {}) == "m3u8"
    assert "format" in _error("adaptive_video", {"format": "dash"}).message
