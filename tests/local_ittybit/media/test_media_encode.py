"""encode/build_command on generated media: outputs match the options, progress, cancel, errors."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from media_clips import make_clip

from media_assets.local_ittybit.media import (
    MediaError,
    build_command,
    encode,
    ffmpeg_exe,
    probe_file,
)


def test_default_video_is_faststart_h264_aac(av_clip: Path, tmp_path: Path) -> None:
    """A video job makes an mp4 with H.264 + AAC, the requested width, and moov before mdat."""
    dst = tmp_path / "out.mp4"
    result = encode("video", {"width": 160, "quality": "high"}, av_clip, dst)
    assert result == probe_file(dst)
    assert (result["width"], result["height"]) == (160, 120)
    assert result["codecs"] == {"video": "h264", "audio": "aac"}
    assert result["duration"] == pytest.approx(2.0, abs=0.15)
    head = dst.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")


@pytest.mark.parametrize(
    ("options", "format_", "codecs"),
    [
        ({"format": "webm", "width": 128}, "webm", {"video": "vp9", "audio": "opus"}),
        (
            {"format": "mov", "codec": "h265", "width": 128},
            "mov",
            {"video": "h265", "audio": "aac"},
        ),
        ({"codec": "av1", "width": 128}, "mp4", {"video": "av1", "audio": "aac"}),
    ],
)
def test_other_codecs_and_containers(
    av_clip: Path, tmp_path: Path, options: dict[str, Any], format_: str, codecs: dict[str, str]
) -> None:
    """webm/vp9+opus, mov/h265+aac and mp4/av1+aac come out as asked."""
    result = encode("video", options, av_clip, tmp_path / "out")
    assert (result["format"], result["codecs"], result["width"]) == (format_, codecs, 128)


def test_trim_fps_and_bitrate(av_clip: Path, tmp_path: Path) -> None:
    """start/end cut the clip, fps resamples it, bitrate replaces the quality CRF."""
    options = {"start": 0.5, "end": 1.5, "fps": 10, "bitrate": 400_000, "width": 160}
    result = encode("video", options, av_clip, tmp_path / "cut.mp4")
    assert result["duration"] == pytest.approx(1.0, abs=0.12)
    assert result["fps"] == pytest.approx(10)
    assert result["frames"] == 10


def test_fit_contain_pads_to_the_box(av_clip: Path, tmp_path: Path) -> None:
    """width+height with fit contain gives exactly the box."""
    options = {"width": 200, "height": 200, "fit": "contain", "background": "#ffffff"}
    result = encode("video", options, av_clip, tmp_path / "box.mp4")
    assert (result["width"], result["height"]) == (200, 200)


def test_portrait_source_stays_portrait(portrait_clip: Path, tmp_path: Path) -> None:
    """Rotation metadata is applied once: a phone-style clip encodes upright, without a matrix."""
    video = encode("video", {"width": 120}, portrait_clip, tmp_path / "v.mp4")
    still = encode("image", {"width": 60}, portrait_clip, tmp_path / "t.webp")
    assert (video["width"], video["height"], video["rotation"]) == (120, 160, 0)
    assert (still["width"], still["height"], still["orientation"]) == (60, 80, "portrait")


def test_audio_is_downmixed_and_resampled_for_mp3(surround_wav: Path, tmp_path: Path) -> None:
    """5.1 at 96 kHz becomes stereo 48 kHz mp3; flac keeps channels and rate."""
    mp3 = encode("audio", {"quality": "low"}, surround_wav, tmp_path / "a.mp3")
    assert (mp3["format"], mp3["channels"], mp3["sample_rate"]) == ("mp3", 2, 48000)
    assert mp3["codecs"]["audio"] == "mp3"
    flac = encode("audio", {"format": "flac"}, surround_wav, tmp_path / "a.flac")
    assert (flac["channels"], flac["sample_rate"]) == (6, 96000)


@pytest.mark.parametrize(
    ("format_", "codec"),
    [("aac", "aac"), ("ogg", "vorbis"), ("opus", "opus"), ("wav", "pcm_s16le")],
)
def test_audio_formats(av_clip: Path, tmp_path: Path, format_: str, codec: str) -> None:
    """Each audio format produces its own container and codec from a video's sound."""
    result = encode("audio", {"format": format_, "end": 1}, av_clip, tmp_path / "a")
    assert (result["kind"], result["format"], result["codecs"]["audio"]) == (
        "audio",
        format_,
        codec,
    )
    assert result["duration"] == pytest.approx(1.0, abs=0.1)


def test_missing_streams_are_invalid_input(
    silent_clip: Path, surround_wav: Path, opaque_png: Path, tmp_path: Path
) -> None:
    """Audio from a silent video, a still from audio, or a video from a still is refused."""
    cases = [
        ("audio", silent_clip, "has no audio stream"),
        ("image", surround_wav, "has no video stream"),
        ("video", opaque_png, "still image"),
    ]
    for kind, src, message in cases:
        with pytest.raises(MediaError, match=message) as caught:
            encode(kind, {}, src, tmp_path / "never")
        assert caught.value.kind == "invalid_input"
    assert list(tmp_path.iterdir()) == []


def test_video_without_audio_encodes_silent(silent_clip: Path, tmp_path: Path) -> None:
    """A source with no audio stream gives an mp4 with no audio stream."""
    result = encode("video", {}, silent_clip, tmp_path / "v.mp4")
    assert (result["has_audio"], result["codecs"]["audio"], result["width"]) == (False, None, 256)


def test_image_formats_and_alpha(alpha_png: Path, tmp_path: Path) -> None:
    """webp/png keep alpha, jpeg flattens it; width scales with aspect kept."""
    webp = encode("image", {"width": 32}, alpha_png, tmp_path / "i.webp")
    png = encode("image", {"format": "png"}, alpha_png, tmp_path / "i.png")
    jpeg = encode("image", {"format": "jpeg"}, alpha_png, tmp_path / "i.jpg")
    assert (webp["format"], webp["width"], webp["height"], webp["transparency"]) == (
        "webp",
        32,
        24,
        True,
    )
    assert (png["format"], png["transparency"]) == ("png", True)
    assert (jpeg["format"], jpeg["transparency"], jpeg["width"]) == ("jpeg", False, 64)


def test_thumbnail_time_is_clamped_into_short_clips(av_clip: Path, tmp_path: Path) -> None:
    """A frame asked for after the clip's end still produces a thumbnail."""
    result = encode("image", {"start": 30, "width": 100}, av_clip, tmp_path / "late.webp")
    assert (result["kind"], result["width"], result["height"]) == ("image", 100, 75)


def test_animation_gif(av_clip: Path, tmp_path: Path) -> None:
    """An animation job makes a looping GIF at the requested fps and length."""
    options = {"width": 80, "fps": 5, "start": 0.5, "end": 1.5}
    result = encode("animation", options, av_clip, tmp_path / "a.gif")
    assert (result["format"], result["animated"], result["width"]) == ("gif", True, 80)
    assert result["frames"] == 5


def test_progress_rises_to_100(av_clip: Path, tmp_path: Path) -> None:
    """on_progress sees 0 first, never goes down, and ends at exactly 100."""
    seen: list[int] = []
    encode("video", {"width": 160}, av_clip, tmp_path / "p.mp4", on_progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(seen) and all(0 <= p <= 100 for p in seen)


def test_cancel_kills_ffmpeg_and_removes_partial_output(
    long_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the cancel event stops ffmpeg within a second and leaves no file behind."""
    started: list[subprocess.Popen[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        proc: subprocess.Popen[str] = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def cancel_once_running(percent: int) -> None:
        if percent > 0 and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    with pytest.raises(MediaError) as caught:
        encode(
            "video",
            {"quality": "very_high"},
            long_clip,
            tmp_path / "c.mp4",
            on_progress=cancel_once_running,
            cancel=cancel,
        )
    assert caught.value.kind == "cancelled"
    assert time.monotonic() - cancelled_at[0] < 1
    assert len(started) == 1 and started[0].returncode is not None
    assert started[0].returncode != 0  # killed, not finished
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_is_processing_failed_with_reason(media_dir: Path, tmp_path: Path) -> None:
    """An encoder refusal surfaces as processing_failed with the file name and ffmpeg's reason."""
    tiny = make_clip(media_dir / "tiny.webm", size="8x8", seconds=0.2, audio=False)
    with pytest.raises(MediaError) as caught:
        encode("video", {"codec": "h265"}, tiny, tmp_path / "t.mp4")
    assert caught.value.kind == "processing_failed"
    assert "tiny.webm" in caught.value.message and "too small" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_build_command_maps_only_chosen_streams(av_clip: Path, tmp_path: Path) -> None:
    """The command maps the probed video and audio streams, seeks, trims and writes faststart."""
    probe = probe_file(av_clip)
    dst = tmp_path / "o.mp4"
    cmd = build_command("video", {"start": 1, "end": 1.5}, probe, av_clip, dst)
    assert cmd[0] == ffmpeg_exe() and cmd[-1] == str(dst)
    joined = " ".join(cmd)
    assert "-map 0:0 -map 0:1 -sn -dn" in joined
    assert "-ss 1.000 -protocol_whitelist file -i" in joined and "-t 0.500" in joined
    assert "-movflags +faststart" in joined and "-progress pipe:1" in joined
    assert "format=yuv420p" in joined


def test_relative_names_that_look_like_options_are_safe(
    av_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative file named like an ffmpeg option is still read as a file, not an option."""
    monkeypatch.chdir(tmp_path)
    odd = Path("-i.mp4")
    odd.write_bytes(av_clip.read_bytes())
    result = encode("image", {"width": 32}, odd, Path("-y.webp"))
    assert result["width"] == 32 and (tmp_path / "-y.webp").is_file()


def test_playlists_are_refused(tmp_path: Path) -> None:
    """An HLS playlist is not media: probing it fails without fetching what it names."""
    playlist = tmp_path / "list.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaError) as caught:
        probe_file(playlist)
    assert caught.value.kind == "invalid_input" and "list.m3u8" in caught.value.message
