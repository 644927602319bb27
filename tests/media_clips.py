"""Short generated media for tests, made with the ffmpeg binary of the imageio-ffmpeg wheel.

One small API instead of ffmpeg recipes in every folder: ``make_clip`` (video, with or without
sound), ``make_tone`` (audio only) and ``make_still`` (one picture). The container follows the
file's extension, and so do the default codecs. Each file is written under a temporary name
beside the target and renamed when ffmpeg is done, so a half-written file never looks finished.

Importable from every test folder: pytest puts ``tests/`` on ``sys.path`` for its conftest.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeVar

import imageio_ffmpeg

VideoCodec = Literal["h264", "vp9", "gif"]
AudioCodec = Literal["aac", "mp3", "opus", "flac", "pcm_s16le"]
# "black": one flat colour from start to end (a thumbnail of it is blank).
Pattern = Literal["testsrc", "testsrc2", "black"]
_Codec = TypeVar("_Codec", bound=str)

FFMPEG_TIMEOUT_S = 120

_VIDEO_CODEC_BY_SUFFIX: dict[str, VideoCodec] = {
    ".mp4": "h264",
    ".mov": "h264",
    ".mkv": "h264",
    ".webm": "vp9",
    ".gif": "gif",
}
_AUDIO_CODEC_BY_SUFFIX: dict[str, AudioCodec] = {
    ".mp3": "mp3",
    ".m4a": "aac",
    ".aac": "aac",
    ".ogg": "opus",
    ".opus": "opus",
    ".flac": "flac",
    ".wav": "pcm_s16le",
}
# The audio that goes with a video codec when a clip has sound.
_CLIP_AUDIO: dict[VideoCodec, AudioCodec] = {"h264": "aac", "vp9": "opus"}
_VIDEO_ARGS: dict[VideoCodec, tuple[str, ...]] = {
    "h264": ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    "vp9": ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
    "gif": ("-c:v", "gif"),
}
_AUDIO_ARGS: dict[AudioCodec, tuple[str, ...]] = {
    "aac": ("-c:a", "aac"),
    "mp3": ("-c:a", "libmp3lame"),
    "opus": ("-c:a", "libopus"),
    "flac": ("-c:a", "flac"),
    "pcm_s16le": ("-c:a", "pcm_s16le"),
}


def make_clip(
    path: Path,
    *,
    size: str = "320x240",
    seconds: float = 1.0,
    rate: int = 25,
    audio: bool = True,
    channels: int = 1,
    codec: VideoCodec | None = None,
    pattern: Pattern = "testsrc",
    rotation: int = 0,
) -> Path:
    """A test-pattern video of ``size`` (``WxH``), with a sine tone unless ``audio`` is False.

    ``codec`` defaults by extension (mp4/mov/mkv: H.264 + AAC, webm: VP9 + Opus, gif: GIF, which
    has no sound). ``rotation`` stores the picture as coded and adds a display matrix, as phones
    do: a 320x240 clip with ``rotation=90`` displays as 240x320.
    """
    video_codec = codec or _by_suffix(path, _VIDEO_CODEC_BY_SUFFIX, "video")
    if audio and video_codec == "gif":
        raise ValueError("a GIF has no sound: pass audio=False")
    picture = f"size={size}:rate={rate}:duration={seconds}"
    picture = f"color=c=black:{picture}" if pattern == "black" else f"{pattern}={picture}"
    arguments = ["-f", "lavfi", "-i", picture]
    if audio:
        arguments += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    arguments += _VIDEO_ARGS[video_codec]
    if audio:
        arguments += [*_AUDIO_ARGS[_CLIP_AUDIO[video_codec]], *_channels(channels), "-shortest"]
    if not rotation:
        return _render(path, arguments)
    unrotated = _render(path.with_name(f".{path.stem}.unrotated{path.suffix}"), arguments)
    try:
        rotate = ["-display_rotation:v:0", str(rotation), "-i", str(unrotated), "-c", "copy"]
        return _render(path, rotate)
    finally:
        unrotated.unlink(missing_ok=True)


def make_tone(
    path: Path,
    *,
    seconds: float = 1.0,
    codec: AudioCodec | None = None,
    channels: int = 1,
    sample_rate: int = 44_100,
    cover: Path | None = None,
) -> Path:
    """A sine tone with no picture; ``codec`` defaults by extension (mp3, m4a, ogg, flac, wav).

    ``cover`` attaches that image as cover art (an mp3's picture is not a video stream).
    """
    audio_codec = codec or _by_suffix(path, _AUDIO_CODEC_BY_SUFFIX, "audio")
    tone = f"sine=frequency=440:sample_rate={sample_rate}:duration={seconds}"
    arguments = ["-f", "lavfi", "-i", tone]
    if cover is not None:
        arguments += ["-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:v", "png"]
        arguments += ["-disposition:v", "attached_pic", "-id3v2_version", "3"]
    arguments += [*_AUDIO_ARGS[audio_codec], *_channels(channels)]
    return _render(path, arguments)


def make_still(path: Path, *, size: str = "64x48", alpha: bool = False) -> Path:
    """One picture of ``size`` in the extension's format (png, gif, jpg, webp).

    With ``alpha`` it is a half-transparent red RGBA picture; otherwise an opaque test pattern.
    """
    source = f"color=c=red@0.5:size={size},format=rgba" if alpha else f"testsrc=size={size}"
    return _render(path, ["-f", "lavfi", "-i", source, "-frames:v", "1", "-update", "1"])


def _by_suffix(path: Path, codecs: dict[str, _Codec], what: str) -> _Codec:
    try:
        return codecs[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(codecs))
        raise ValueError(f"no default {what} codec for {path.name} (known: {known})") from None


def _channels(channels: int) -> list[str]:
    return [] if channels == 1 else ["-ac", str(channels)]


def _render(path: Path, arguments: Sequence[str]) -> Path:
    """Run ffmpeg into a temporary name beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-nostdin"]
    try:
        done = subprocess.run(
            [*command, *arguments, str(partial)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=FFMPEG_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg could not make {path.name}: {done.stderr.strip()}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
