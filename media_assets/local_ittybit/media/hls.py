"""``adaptive_video``: an HLS ladder — a master playlist and two or three renditions — in one run.

One ffmpeg process decodes the source once, sizes the top rendition as the options ask (width,
height, fit, position, background, as for a video job), splits it and scales the copies down to
the lower rungs, and writes every rendition's segments and playlist plus the master playlist that
lists them. Keyframes are forced every ``SEGMENT_SECONDS`` so all renditions cut their segments at
the same instants, which is what lets a player switch between them.

Layout, next to the master playlist ``<name>.m3u8``: ``v0/index.m3u8`` (the top rendition),
``v1/index.m3u8``, ... each with its ``seg_NNNNN.ts`` segments; the master names them relatively.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import quality as q
from .commands import (
    _check_source,
    _lossy_audio,
    _picture_filters,
    _seek_and_input,
    _sound_map,
    progress_head,
)
from .errors import MediaError
from .geometry import plan_size
from .probe import probe_file
from .runner import run_ffmpeg
from .tools import local_arg, pick_encoder

SEGMENT_SECONDS = 2
# Lower rungs, tallest first; those under 3/4 of the top rendition's height are used.
LADDER_HEIGHTS = (1080, 720, 540, 360, 240, 144)
MAX_RENDITIONS = 3
# A rendition's peak bitrate: bits per pixel per frame at 30 fps, so the ladder's rates follow
# its sizes (1080p ~6 Mb/s, 360p ~0.7 Mb/s); CRF sets the quality under that ceiling.
_BITS_PER_PIXEL = 0.1
_MIN_RATE = 150_000


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    max_rate: int  # bits per second


def plan_ladder(opts: Mapping[str, Any], probe: Mapping[str, Any]) -> list[Rendition]:
    """The renditions for a source like ``probe``: the top as asked, then smaller ones."""
    width, height = probe.get("width"), probe.get("height")
    if not width or not height:
        raise MediaError("invalid_input", "the source's picture size is unknown: cannot plan HLS")
    top = plan_size(opts, int(width), int(height), even=True)
    heights = [h for h in LADDER_HEIGHTS if h <= top.height * 0.75][: MAX_RENDITIONS - 1]
    if not heights:  # a tiny source: still two rungs, the second half the size
        heights = [max(2, 2 * (top.height // 4))]
    sizes = [(top.width, top.height)]
    for rung in heights:
        sizes.append((max(2, 2 * round(top.width * rung / top.height / 2)), rung))
    return [Rendition(w, h, max(_MIN_RATE, int(w * h * 30 * _BITS_PER_PIXEL))) for w, h in sizes]


def build_ladder_command(
    opts: Mapping[str, Any], probe: Mapping[str, Any], src: Path, master: Path
) -> list[str]:
    """The ffmpeg argv writing the ladder with ``master`` as its master playlist."""
    _check_source("adaptive_video", opts, probe, src.name)
    ladder = plan_ladder(opts, probe)
    start = float(opts.get("start") or 0)
    length = float(opts["end"]) - start if "end" in opts else None
    args = [*progress_head(), *_seek_and_input(src, start, length)]
    top = _picture_filters(opts, probe, even=True, pix_fmt="yuv420p", keep_alpha=False)[1]
    index = (probe.get("stream_index") or {}).get("video")
    source = f"[0:{index}]" if index is not None else "[0:v:0]"
    split = "".join(f"[t{n}]" for n in range(len(ladder)))
    graph = [f"{source}{top},split={len(ladder)}{split}"]
    for n, rung in enumerate(ladder):
        scale = "null" if n == 0 else f"scale={rung.width}:{rung.height},setsar=1"
        graph.append(f"[t{n}]{scale}[v{n}]")
    args += ["-filter_complex", ";".join(graph)]
    audio = bool(probe.get("has_audio"))
    for n in range(len(ladder)):
        args += ["-map", f"[v{n}]"]
        if audio:
            args += _sound_map(probe)
    crf = str(q.VIDEO_CRF["h264"][opts["quality"]])
    args += ["-c:v", pick_encoder("h264"), "-preset", "veryfast", "-crf", crf]
    for n, rung in enumerate(ladder):
        args += [f"-maxrate:v:{n}", str(rung.max_rate), f"-bufsize:v:{n}", str(2 * rung.max_rate)]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})", "-sc_threshold", "0"]
    if audio:
        args += _lossy_audio("aac", opts, probe)
    args += ["-sn", "-dn", "-map_metadata", "-1"]
    streams = " ".join(f"v:{n},a:{n}" if audio else f"v:{n}" for n in range(len(ladder)))
    folder = master.parent
    args += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod"]
    args += ["-hls_flags", "independent_segments"]
    args += ["-hls_segment_filename", local_arg(folder / "v%v" / "seg_%05d.ts")]
    args += ["-master_pl_name", master.name, "-var_stream_map", streams]
    return [*args, local_arg(folder / "v%v" / "index.m3u8")]


def encode_ladder(
    opts: Mapping[str, Any],
    src: Path,
    master: Path,
    *,
    probe: Mapping[str, Any],
    expected_seconds: float | None,
    on_progress: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> dict[str, Any]:
    """Write the ladder beside ``master``; it appears there whole (master last) or not at all."""
    folder = master.parent
    staging = folder / f".{master.stem}.{uuid.uuid4().hex[:12]}.part"
    staging.mkdir(parents=True)
    try:
        cmd = build_ladder_command(opts, probe, src, staging / master.name)
        run_ffmpeg(
            cmd,
            label=src.name,
            expected_seconds=expected_seconds,
            on_progress=on_progress,
            cancel=cancel,
        )
        if not (staging / master.name).is_file():
            raise MediaError("processing_failed", f"{src.name}: ffmpeg wrote no HLS playlist")
        for rendition in sorted(staging.iterdir()):
            if rendition.is_dir():
                shutil.rmtree(folder / rendition.name, ignore_errors=True)
                os.replace(rendition, folder / rendition.name)
        os.replace(staging / master.name, master)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ladder_facts(master)


def read_master(master: Path) -> list[dict[str, Any]]:
    """The renditions a master playlist lists: ``uri``, ``width``, ``height``, ``bandwidth``."""
    variants: list[dict[str, Any]] = []
    pending: dict[str, Any] | None = None
    for line in master.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = _attributes(line.split(":", 1)[1])
            width, _, height = attributes.get("RESOLUTION", "x").partition("x")
            pending = {
                "bandwidth": int(attributes.get("BANDWIDTH", "0")),
                "width": int(width) if width.isdigit() else None,
                "height": int(height) if height.isdigit() else None,
            }
        elif line and not line.startswith("#") and pending is not None:
            variants.append({**pending, "uri": line})
            pending = None
    return variants


def read_media_playlist(playlist: Path) -> tuple[float, list[str]]:
    """Total duration and segment names of a media playlist."""
    duration, segments = 0.0, []
    for line in playlist.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration += float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#"):
            segments.append(line)
    return duration, segments


def ladder_facts(master: Path) -> dict[str, Any]:
    """The File of an HLS output: the top rendition's size and codecs, the whole ladder's bytes."""
    variants = read_master(master)
    if len(variants) < 2:
        raise MediaError("processing_failed", f"{master.name}: expected a ladder, got {variants}")
    top = max(variants, key=lambda v: (v["width"] or 0) * (v["height"] or 0))
    playlist = master.parent / top["uri"]
    duration, segments = read_media_playlist(playlist)
    first = probe_file(playlist.parent / segments[0])
    filesize = sum(path.stat().st_size for path in master.parent.rglob("*") if path.is_file())
    return {
        "object": "file",
        "kind": "video",
        "format": "hls",
        "width": top["width"],
        "height": top["height"],
        "duration": round(duration, 3),
        "codecs": first.get("codecs") or {},
        "has_video": True,
        "has_audio": bool(first.get("has_audio")),
        "filesize": filesize,
        "renditions": [
            {key: variant[key] for key in ("uri", "width", "height", "bandwidth")}
            for variant in variants
        ],
    }


def _attributes(text: str) -> dict[str, str]:
    """``KEY=VALUE,KEY="quoted, value"`` as a dict."""
    found: dict[str, str] = {}
    key, value, quoted, reading_key = "", "", False, True
    for char in text + ",":
        if reading_key:
            if char == "=":
                reading_key = False
            elif char != ",":
                key += char
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            found[key.strip()] = value
            key, value, reading_key = "", "", True
        else:
            value += char
    return found
