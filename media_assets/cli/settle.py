"""Waiting for local files that are still being written.

A file copied or recorded into the library while ``media-assets run`` starts would otherwise be
processed half-written: a truncated mp4 can still decode, and its outputs look fine but are short.
So, as the ``new_uploads`` sensor does, a file is taken only once its size and modification time
stay the same for ``quiet_s`` seconds. Files last modified longer ago than that are taken at once;
only recent ones cost a wait. A file still changing when ``timeout_s`` runs out is reported, never
processed and never silently dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from media_assets.sources import SourceError, SourceFile, discover

Stat = tuple[int, int]


@dataclass
class Settled:
    files: list[SourceFile] = field(default_factory=list)
    still_written: list[SourceError] = field(default_factory=list)
    waited_s: float = 0.0


def _stat(path: Path) -> Stat | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


def settle_files(
    files: Sequence[SourceFile],
    *,
    quiet_s: float,
    timeout_s: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Settled:
    """The files, re-read where they changed, once each has been quiet for ``quiet_s``."""
    outcome = Settled()
    started = clock()
    recent: dict[int, Stat] = {}
    for index, file in enumerate(files):
        if file.local_path is None or file.size is None or file.mtime_ns is None:
            continue
        # Discovery already read each file's size and time: only recent ones are looked at again.
        if clock() - file.mtime_ns / 1e9 >= quiet_s:
            continue
        recent[index] = (file.size, file.mtime_ns)
    changed: set[int] = set()
    while recent:
        elapsed = clock() - started
        if elapsed >= timeout_s:
            break
        sleep(min(quiet_s, timeout_s - elapsed))
        for index, before in list(recent.items()):
            path = files[index].local_path
            assert path is not None
            now = _stat(path)
            if now == before and now is not None and clock() - now[1] / 1e9 >= quiet_s:
                del recent[index]
            elif now is not None:
                if now != before:
                    changed.add(index)
                recent[index] = now
    outcome.waited_s = clock() - started
    for index, file in enumerate(files):
        if index in recent:
            outcome.still_written.append(
                SourceError(
                    file.name if file.local_path is None else str(file.local_path),
                    f"still being written (its size or time changed within {quiet_s:g}s, "
                    f"for {outcome.waited_s:.0f}s); run again once it is complete",
                )
            )
        elif index in changed:
            refreshed, errors = discover([str(file.local_path)])
            outcome.still_written.extend(errors)
            # Re-read: the size and content fingerprint taken at discovery were of a partial file.
            outcome.files.extend(
                replace(fresh, name=file.name, options=file.options)
                for fresh in refreshed
                if fresh.key == file.key
            )
        else:
            outcome.files.append(file)
    return outcome
