"""A small library for ``media-assets demo``: a few short clips, one audio file, one image.

Made with the ffmpeg binary that ships in the imageio-ffmpeg wheel, so it needs nothing else.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import imageio_ffmpeg

# name -> ffmpeg arguments between the binary and the output path
_RECIPES: dict[str, list[str]] = {
    "clips/landscape-720p.mp4": [
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=4",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest",
    ],
    "clips/portrait-phone.mp4": [
        "-f", "lavfi", "-i", "testsrc=size=360x640:rate=30:duration=3",
        "-f", "lavfi", "-i", "sine=frequency=660:duration=3",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest",
    ],
    "clips/silent-screen-capture.mp4": [
        "-f", "lavfi", "-i", "mandelbrot=size=640x360:rate=25",
        "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    ],
    "audio/podcast-intro.mp3": [
        "-f", "lavfi", "-i", "sine=frequency=220:duration=5", "-c:a", "libmp3lame", "-q:a", "4",
    ],
    "images/poster.png": [
        "-f", "lavfi", "-i", "testsrc2=size=800x600", "-frames:v", "1",
    ],
}  # fmt: skip


def make_demo_library(folder: Path) -> list[Path]:
    """Write the demo files into ``folder`` (skipping ones already there); returns their paths."""
    return render_recipes(folder, _RECIPES)


def render_recipes(folder: Path, recipes: Mapping[str, Sequence[str]]) -> list[Path]:
    """Write one file per ``name -> ffmpeg arguments`` recipe under ``folder``; their paths.

    A file already there (not empty) is kept; each is written under a temporary name first, so
    an interrupted run never leaves a half-written file that looks finished.
    """
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    made: list[Path] = []
    for name, arguments in recipes.items():
        target = folder / name
        made.append(target)
        if target.exists() and target.stat().st_size > 0:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.stem}.partial{target.suffix}")
        subprocess.run(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *arguments, str(partial)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
        partial.replace(target)
    return made
