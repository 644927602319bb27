"""Turn a source file into a video, audio, image, animation or HLS output with the bundled ffmpeg.

``encode`` is safe to call from many threads at once: each call owns its ffmpeg process and its
temp file. The output appears at ``dst`` only when complete (written to a hidden temp name in the
same folder, then renamed), so a served folder never shows a half-written file. An HLS ladder
(``adaptive_video``) is a master playlist at ``dst`` with rendition folders beside it: see
``hls``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .commands import animation_window, build_command
from .errors import MediaError
from .hls import encode_ladder
from .options import output_extension, validate_options
from .probe import probe_file
from .runner import run_ffmpeg
from .tools import ffmpeg_exe

__all__ = ["build_command", "encode", "ffmpeg_exe", "output_extension"]


def _expected_seconds(kind: str, opts: Mapping[str, Any], probe: Mapping[str, Any]) -> float | None:
    """Seconds of output ffmpeg will write, the denominator of progress."""
    if kind == "image":
        return None
    if kind == "animation":
        return animation_window(opts, probe)[1]
    duration = probe.get("duration")
    start = float(opts.get("start") or 0)
    end = float(opts["end"]) if "end" in opts else None
    if duration:
        end = min(end, float(duration)) if end is not None else float(duration)
    return end - start if end is not None and end > start else None


def _empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def encode(
    kind: str,
    options: Mapping[str, Any],
    src: Path,
    dst: Path,
    *,
    probe: Mapping[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Encode ``src`` into ``dst`` for a ``kind`` job with Ittybit ``options``.

    ``probe`` (``probe_file(src)``) is computed when not given. ``on_progress`` receives
    increasing percentages, 0 first and 100 last (called on this thread). Setting ``cancel`` kills
    ffmpeg within ~0.1 s, removes partial output and raises ``MediaError("cancelled", ...)``.
    Returns ``probe_file(dst)``. Every failure is a ``MediaError``.
    """
    src, dst = Path(src), Path(dst)
    opts = validate_options(kind, options)
    if probe is None:
        probe = probe_file(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if kind == "adaptive_video":
        facts = encode_ladder(
            opts,
            src,
            dst,
            probe=probe,
            expected_seconds=_expected_seconds(kind, opts, probe),
            on_progress=on_progress,
            cancel=cancel,
        )
        if on_progress is not None:
            on_progress(100)
        return facts
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:12]}.part")
    label = src.name
    try:
        cmd = build_command(kind, opts, probe, src, tmp)
        expected = _expected_seconds(kind, opts, probe)
        run_ffmpeg(
            cmd, label=label, expected_seconds=expected, on_progress=on_progress, cancel=cancel
        )
        if _empty(tmp) and kind == "image" and opts.get("start"):
            # A header can promise more than the file holds; the first frame is a fine still.
            cmd = build_command(kind, {**opts, "start": 0}, probe, src, tmp)
            run_ffmpeg(cmd, label=label, expected_seconds=None, on_progress=None, cancel=cancel)
        if _empty(tmp):
            raise MediaError("processing_failed", f"{label}: ffmpeg wrote no output")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        result = probe_file(dst)
    except MediaError as exc:
        dst.unlink(missing_ok=True)
        raise MediaError(
            "processing_failed", f"{label}: output is unreadable: {exc.message}"
        ) from exc
    if on_progress is not None:
        on_progress(100)
    return result
