"""Waiting for local files that are still being written, before `run` takes them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from media_assets.cli.settle import settle_files
from media_assets.sources import discover


def _old(path: Path) -> Path:
    os.utime(path, (time.time() - 600, time.time() - 600))
    return path


def test_files_quiet_for_long_are_taken_without_waiting(tmp_path: Path) -> None:
    """Files last changed long ago cost no wait at all."""
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"media")
        _old(tmp_path / name)
    files, _ = discover([str(tmp_path)])
    waits: list[float] = []
    settled = settle_files(files, quiet_s=5, timeout_s=30, sleep=waits.append)
    assert [file.name for file in settled.files] == ["a.mp4", "b.mp4"]
    assert waits == []


def test_a_file_that_stops_growing_is_read_again_at_its_final_size(tmp_path: Path) -> None:
    """A file that grew during the wait is taken with the size it settled at."""
    growing = tmp_path / "growing.mp4"
    growing.write_bytes(b"12345")
    files, _ = discover([str(tmp_path)])

    def grow_once(seconds: float) -> None:
        if growing.stat().st_size == 5:
            growing.write_bytes(b"1234567890")
        time.sleep(seconds)

    settled = settle_files(files, quiet_s=0.2, timeout_s=10, sleep=grow_once)
    assert [file.size for file in settled.files] == [10]
    assert settled.still_written == []


def test_a_file_still_changing_at_the_timeout_is_reported_not_taken(tmp_path: Path) -> None:
    """A file that never settles is named as still being written and left out."""
    growing = tmp_path / "endless.mp4"
    growing.write_bytes(b"1")
    files, _ = discover([str(tmp_path)])

    def keep_writing(seconds: float) -> None:
        with growing.open("ab") as sink:
            sink.write(b"1")
        time.sleep(seconds)

    settled = settle_files(files, quiet_s=0.1, timeout_s=0.5, sleep=keep_writing)
    assert settled.files == []
    assert [error.source for error in settled.still_written] == [str(growing)]
    assert "still being written" in settled.still_written[0].reason
