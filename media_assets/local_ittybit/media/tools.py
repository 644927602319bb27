"""The ffmpeg binary from the imageio-ffmpeg wheel, and what it can do.

Everything here is cached per process: the binary does not change while we run, and asking it for
its encoder list costs a subprocess.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from .errors import MediaError

# Preference order per Ittybit codec name. libaom in realtime mode comes first for AV1: libsvtav1
# refuses sources without a frame rate or above 240 fps (the 8x8 single-frame corpus WebM), and
# libaom's realtime mode is as fast on our clip sizes.
ENCODER_CHOICES: dict[str, tuple[str, ...]] = {
    "h264": ("libx264",),
    "h265": ("libx265",),
    "vp9": ("libvpx-vp9",),
    "av1": ("libaom-av1", "libsvtav1"),
    "avif": ("libaom-av1", "libsvtav1"),
    "aac": ("aac",),
    "mp3": ("libmp3lame",),
    "opus": ("libopus",),
    "vorbis": ("libvorbis",),
    "flac": ("flac",),
    "pcm_s16le": ("pcm_s16le",),
    "webp": ("libwebp",),
    "webp_anim": ("libwebp_anim",),
    "mjpeg": ("mjpeg",),
    "png": ("png",),
}


# Inputs are always local files (the service downloads remote ones first). Allowing only the file
# protocol stops a playlist-like input (HLS, concat) from making ffmpeg fetch URLs.
INPUT_PROTOCOLS = "file"


def local_arg(path: Path) -> str:
    """An absolute path for ffmpeg/PyAV: a relative name starting with "-" would read as an
    option, and "name:rest" as a protocol prefix."""
    return os.path.abspath(path)


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the imageio-ffmpeg wheel's ffmpeg binary (``IMAGEIO_FFMPEG_EXE`` overrides it)."""
    import imageio_ffmpeg

    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # the wheel has no binary for this platform
        raise MediaError("processing_failed", f"no ffmpeg binary available: {exc}") from exc


@functools.cache
def available_encoders() -> frozenset[str]:
    """Names of the encoders compiled into the bundled ffmpeg."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-encoders"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        timeout=30,
    ).stdout
    names: set[str] = set()
    for line in out.splitlines():
        parts = line.split()
        # Rows look like " V....D libx264   libx264 H.264 ..."; the legend above uses "=" lines.
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS" and "=" not in line:
            names.add(parts[1])
    return frozenset(names)


def pick_encoder(codec: str) -> str:
    """The first available ffmpeg encoder for an Ittybit codec name (else processing_failed)."""
    choices = ENCODER_CHOICES.get(codec, (codec,))
    have = available_encoders()
    for name in choices:
        if name in have:
            return name
    raise MediaError(
        "processing_failed",
        f"the bundled ffmpeg has no encoder for {codec} (looked for {', '.join(choices)})",
    )
