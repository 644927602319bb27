"""Every file of the shared corpus (real files from media projects) through probe and encode.

The table below is what each file must probe as (see ../shared/corpus/SOURCES.md for why each file
is there); broken files must raise invalid_input naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media_assets.local_ittybit.media import MediaError, encode, probe_file

pytestmark = pytest.mark.corpus

# name -> (kind, format, display width, display height, extra expected fields)
VALID: dict[str, tuple[str, str, int | None, int | None, dict[str, Any]]] = {
    "aac-m4a-two-covers.m4a": ("audio", "m4a", None, None, {"has_video": False}),
    "av1-aac.mp4": ("video", "mp4", 1080, 720, {"codecs": {"video": "av1", "audio": "aac"}}),
    "flac-png-cover.flac": ("audio", "flac", None, None, {"has_video": False}),
    "gif-animated.gif": ("video", "gif", 245, 245, {"animated": True, "frames": 42}),
    "gif-nonutf8-comment.gif": ("image", "gif", 128, 128, {"animated": False}),
    "h263-amrnb.3gp": ("video", "3gp", 504, 288, {"codecs": {"video": "h263", "audio": "amr_nb"}}),
    "h264-1080i-interlaced-ac3.mts": ("video", "ts", 1920, 1080, {"interlaced": True}),
    "h264-4k-portrait-rot90-phone.mp4": ("video", "mp4", 2160, 3840, {"orientation": "portrait"}),
    "h264-aac-1080x720.mp4": ("video", "mp4", 1080, 720, {"has_audio": True}),
    "h264-ac3-pgs-subs.mkv": (
        "video",
        "mkv",
        1080,
        720,
        {"codecs": {"video": "h264", "audio": "ac3"}},
    ),
    "h264-anamorphic-sar4x3.mp4": ("video", "mp4", 427, 240, {}),
    "h264-noaudio-start10s-cea608.mp4": ("video", "mp4", 416, 234, {"has_audio": False}),
    "he-aac-v2.aac": ("audio", "aac", None, None, {"channels": 2}),
    "heic-grid-rot90.heic": ("image", "heic", 3024, 4032, {"tile_grid": True}),
    "hevc-10bit-hlg-rot90-iphone.mov": (
        "video",
        "mov",
        720,
        1280,
        {"codecs": {"video": "h265", "audio": "aac"}},
    ),
    "jpeg-cmyk.jpg": ("image", "jpeg", 100, 100, {"transparency": False}),
    "jpeg-exif-orientation-6.jpg": ("image", "jpeg", 128, 128, {"rotation": 90}),
    "jpeg-exif-orientation-8.jpg": ("image", "jpeg", 128, 128, {"rotation": 270}),
    "missing-stsd-audio.mp4": ("video", "mp4", 1080, 720, {"has_audio": False}),
    "mp3-id3-apic-cover.mp3": ("audio", "mp3", None, None, {"has_video": False}),
    "mpeg2-mp2.ts": ("video", "ts", 640, 426, {"codecs": {"video": "mpeg2video", "audio": "mp2"}}),
    "mpeg4asp-mp3.avi": ("video", "avi", 960, 400, {"codecs": {"video": "mpeg4", "audio": "mp3"}}),
    "opus-51-6ch.ogg": ("audio", "ogg", None, None, {"channels": 6}),
    "png-rgba-alpha.png": ("image", "png", 200, 150, {"transparency": True}),
    "truncated-h264-aac.mkv": ("video", "mkv", 720, 404, {}),
    "two-audio-tracks-ac3-aac.mp4": (
        "audio",
        "mp4",
        None,
        None,
        {"codecs": {"video": None, "audio": "ac3"}},
    ),
    "vorbis-stereo.ogg": ("audio", "ogg", None, None, {"channels": 2}),
    "vp8-tiny-8x8.webm": ("video", "webm", 8, 8, {"has_audio": False}),
    "vp8-vfr-1080p-noaudio.webm": ("video", "webm", 1920, 1080, {"has_audio": False}),
    "vp9-10bit-profile2.webm": ("video", "webm", 426, 240, {}),
    "vp9-odd-161x121.webm": ("video", "webm", 161, 121, {}),
    "vp9-vorbis-51ch.webm": ("video", "webm", 960, 540, {"channels": 6}),
    "wav-192khz-mono.wav": ("audio", "wav", None, None, {"sample_rate": 192000}),
    "wav-51-float32-extensible.wav": ("audio", "wav", None, None, {"channels": 6}),
    "webp-16000x9000.webp": ("image", "webp", 16000, 9000, {}),
    "webp-animated.webp": ("video", "webp", 245, 245, {"animated": True, "frames": 42}),
}
# name -> a fragment the error must contain (besides the file name)
BROKEN: dict[str, str] = {
    "corrupt-ebml-header.mkv": "EBML",
    "moov-not-found.mp4": "moov atom not found",
    "truncated-aac-mp4v.mp4": "partial file",
    "wrong-ext-json.webp": "no decodable picture",
    "zero-length.mp3": "empty",
}
VIDEOS = sorted(name for name, row in VALID.items() if row[0] == "video")
# 4K/1080p sources get a smaller target so the suite stays quick on two cores.
SMALL_TARGET = {"h264-4k-portrait-rot90-phone.mp4": 360, "vp8-vfr-1080p-noaudio.webm": 640}


def test_table_covers_every_corpus_file(corpus: Path) -> None:
    """Each file in the corpus has an expectation here (a new file must be classified)."""
    present = {p.name for p in corpus.iterdir() if p.name != "SOURCES.md"}
    assert present == set(VALID) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_file_probes_as_expected(corpus: Path, name: str) -> None:
    """Kind, format, display size and the file's special trait match the table."""
    kind, format_, width, height, extra = VALID[name]
    info = probe_file(corpus / name)
    assert (info["kind"], info["format"], info["width"], info["height"]) == (
        kind,
        format_,
        width,
        height,
    )
    assert {key: info[key] for key in extra} == extra
    if kind == "video":
        assert info["duration"] and info["duration"] > 0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_raises_invalid_input(corpus: Path, name: str, tmp_path: Path) -> None:
    """Probing or encoding a broken file raises invalid_input naming it and saying why."""
    with pytest.raises(MediaError) as caught:
        probe_file(corpus / name)
    assert caught.value.kind == "invalid_input"
    assert name in caught.value.message and BROKEN[name] in caught.value.message
    with pytest.raises(MediaError) as during_encode:
        encode("video", {}, corpus / name, tmp_path / "out.mp4")
    assert during_encode.value.kind == "invalid_input"
    assert list(tmp_path.iterdir()) == []


def _assert_scaled(result: dict[str, Any], source: dict[str, Any], width: int) -> None:
    assert result["width"] == width
    expected_height = width * source["height"] / source["width"]
    assert abs(result["height"] - expected_height) <= 2


@pytest.mark.parametrize("name", VIDEOS)
def test_video_becomes_mp4_thumbnail_and_mp3(corpus: Path, name: str, tmp_path: Path) -> None:
    """Each video gives an even-sized H.264 mp4, a webp still and (with sound) an mp3."""
    src = corpus / name
    source = probe_file(src)
    target = SMALL_TARGET.get(name, 1280)

    mp4 = encode("video", {"width": target}, src, tmp_path / "v.mp4", probe=source)
    want = min(target, source["width"])
    _assert_scaled(mp4, source, want - want % 2)
    assert mp4["width"] % 2 == 0 and mp4["height"] % 2 == 0
    assert (mp4["format"], mp4["codecs"]["video"]) == ("mp4", "h264")
    assert mp4["orientation"] == source["orientation"] and mp4["rotation"] == 0
    assert mp4["has_audio"] == source["has_audio"]

    thumb = encode("image", {"width": 640, "start": 2}, src, tmp_path / "t.webp", probe=source)
    _assert_scaled(thumb, source, min(640, source["width"]))
    assert (thumb["kind"], thumb["format"]) == ("image", "webp")

    if source["has_audio"]:
        mp3 = encode("audio", {"quality": "high"}, src, tmp_path / "a.mp3", probe=source)
        assert (mp3["kind"], mp3["format"], mp3["codecs"]["audio"]) == ("audio", "mp3", "mp3")
        assert mp3["channels"] <= 2 and mp3["sample_rate"] <= 48000
    else:
        with pytest.raises(MediaError, match="has no audio stream"):
            encode("audio", {}, src, tmp_path / "a.mp3", probe=source)


@pytest.mark.parametrize(
    "name",
    sorted(n for n, row in VALID.items() if row[0] == "audio"),
)
def test_audio_file_becomes_stereo_mp3(corpus: Path, name: str, tmp_path: Path) -> None:
    """Audio-only files (covers, 5.1, 192 kHz, two tracks) become at most stereo 48 kHz mp3."""
    result = encode("audio", {}, corpus / name, tmp_path / "a.mp3")
    assert (result["format"], result["has_video"]) == ("mp3", False)
    assert result["channels"] <= 2 and result["sample_rate"] <= 48000
    assert result["duration"] > 0


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("heic-grid-rot90.heic", (480, 640)),
        ("webp-16000x9000.webp", (640, 360)),
        ("jpeg-cmyk.jpg", (100, 100)),
        ("png-rgba-alpha.png", (200, 150)),
    ],
)
def test_still_images_become_thumbnails(
    corpus: Path, name: str, size: tuple[int, int], tmp_path: Path
) -> None:
    """HEIF grids are assembled and rotated, huge WebPs shrink, alpha is flattened for JPEG."""
    options = {"format": "jpeg", "width": size[0]}
    result = encode("image", options, corpus / name, tmp_path / "t.jpg")
    assert (result["width"], result["height"]) == size
    assert result["transparency"] is False


def test_truncated_file_reports_what_it_holds(corpus: Path, tmp_path: Path) -> None:
    """A file cut short reports its real length (not the header's 1132 s) and still encodes."""
    src = corpus / "truncated-h264-aac.mkv"
    assert probe_file(src)["duration"] < 3
    seen: list[int] = []
    result = encode("video", {"width": 320}, src, tmp_path / "v.mp4", on_progress=seen.append)
    assert result["duration"] < 3 and seen[-1] == 100
