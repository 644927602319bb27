"""Run one ffmpeg process: progress from ``-progress pipe:1``, cancellation, readable failures.

Both pipes are drained by daemon threads so ffmpeg can never block on a full pipe, and the calling
thread wakes every 100 ms to look at the cancel event even while ffmpeg prints nothing.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable

from .cli_probe import meaningful_lines
from .errors import MediaError

_POLL_SECONDS = 0.1
# Phrases that mean the input, not our command or the machine, is at fault.
_INPUT_FAULTS = (
    "invalid data found",
    "moov atom not found",
    "error opening input",
    "partial file",
    "ebml header",
    "could not find codec parameters",
)


def _pump(lines: Iterable[str], sink: Callable[[str], None], done: Callable[[], None]) -> None:
    try:
        for line in lines:
            sink(line)
    finally:
        done()


def run_ffmpeg(
    cmd: list[str],
    *,
    label: str,
    expected_seconds: float | None,
    on_progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run ``cmd`` to completion, reporting 0-99 through ``on_progress`` (the caller reports 100).

    Raises ``MediaError("cancelled")`` when ``cancel`` is set (ffmpeg is killed first), and
    ``MediaError("invalid_input" | "processing_failed")`` naming ``label`` when ffmpeg fails.
    """
    if cancel is not None and cancel.is_set():
        raise MediaError("cancelled", f"{label}: cancelled before start")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        bufsize=1,
    )
    assert proc.stdout is not None and proc.stderr is not None
    progress_lines: queue.Queue[str | None] = queue.Queue()
    stderr_tail: deque[str] = deque(maxlen=200)
    readers = [
        threading.Thread(
            target=_pump,
            args=(proc.stdout, progress_lines.put, lambda: progress_lines.put(None)),
            daemon=True,
        ),
        threading.Thread(
            target=_pump, args=(proc.stderr, stderr_tail.append, lambda: None), daemon=True
        ),
    ]
    for reader in readers:
        reader.start()
    try:
        _follow(progress_lines, label, expected_seconds, on_progress, cancel)
        returncode = proc.wait()
    finally:
        if proc.poll() is None:  # cancelled, or the progress callback raised
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    if returncode != 0:
        raise _failure(label, returncode, "".join(stderr_tail))


def _follow(
    lines: queue.Queue[str | None],
    label: str,
    expected_seconds: float | None,
    on_progress: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> None:
    reported = -1

    def report(percent: int) -> None:
        nonlocal reported
        if on_progress is not None and percent > reported:
            reported = percent
            on_progress(percent)

    report(0)
    while True:
        if cancel is not None and cancel.is_set():
            raise MediaError("cancelled", f"{label}: cancelled")
        try:
            line = lines.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            continue
        if line is None:
            return
        key, _, value = line.strip().partition("=")
        # out_time_us is microseconds of output written (out_time_ms is misnamed, also µs).
        if key == "out_time_us" and expected_seconds and value.lstrip("-").isdigit():
            seconds = max(0, int(value)) / 1_000_000
            report(min(99, int(seconds / expected_seconds * 100)))


def _failure(label: str, returncode: int, stderr: str) -> MediaError:
    reasons = meaningful_lines(stderr, limit=3)
    detail = "; ".join(reasons) if reasons else f"exit status {returncode}"
    lowered = stderr.lower()
    kind = "invalid_input" if any(f in lowered for f in _INPUT_FAULTS) else "processing_failed"
    return MediaError(kind, f"{label}: ffmpeg failed: {detail}")
