"""Launching a library backfill through Dagster's backfill machinery, and watching it.

The backfill is the same object the UI creates (it shows on the UI's backfill page); the daemon
chunks it into ranged runs by the pipeline's backfill policy and the run queue throttles them.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from media_assets.defs.latest_results import ResultMark, latest_marks
from media_assets.instance.backfills import (
    COMMAND_HOST_TAG,
    COMMAND_PID_TAG,
    BackfillState,
    backfill_state,
    launch_asset_backfill,
)
from media_assets.results import Stage

BACKFILL_PRIORITY = "-1"  # below UI and sensor runs, so new uploads are not starved
# Seconds a storage id must have been seen before reads start after it (see ``SettledCursor``).
CURSOR_SETTLE_S = 10.0


def launch_backfill(
    instance: dg.DagsterInstance,
    asset_graph: Any,
    keys: Sequence[str],
    *,
    stages: Sequence[Stage],
    run_config: Mapping[str, Any] | None = None,
    title: str,
) -> str:
    """Create a backfill of ``stages`` over ``keys``; the daemon turns it into ranged runs."""
    return launch_asset_backfill(
        instance,
        asset_graph,
        keys,
        asset_keys=[dg.AssetKey(str(stage)) for stage in stages],
        tags={
            "dagster/priority": BACKFILL_PRIORITY,
            "media_assets/source": "cli",
            COMMAND_HOST_TAG: socket.gethostname(),
            COMMAND_PID_TAG: str(os.getpid()),
        },
        run_config=run_config,
        title=title,
    )


@dataclass(frozen=True)
class Progress:
    files: int
    done: int
    succeeded: int
    failed: int
    runs: Counter[str]
    backfill: BackfillState | None  # None: the backfill is gone

    @property
    def finished(self) -> bool:
        if self.backfill is None or self.backfill.ended:
            return True
        active = ("NOT_STARTED", "QUEUED", "STARTING", "STARTED", "CANCELING")
        return self.done >= self.files and not any(self.runs.get(s, 0) for s in active)


class SettledCursor:
    """Where to read events from next, so that no event is missed however commits interleave.

    On PostgreSQL an event's storage id is drawn from a sequence when its row is inserted, and
    transactions commit in any order: an event with a smaller id can become visible after one
    with a larger id that was already read. Moving the cursor to the largest id read would skip
    it. So reads start after the largest id seen at least ``settle_s`` seconds ago: the recent
    window is read again (the reader keeps the latest result per file, so a second sighting
    changes nothing) and a late commit inside it is still found. Dagster writes each event in a
    short transaction of its own, far shorter than the window. (SQLite assigns ids at commit, in
    order; the window costs it a little re-reading only.)
    """

    def __init__(self, start: int, *, settle_s: float = CURSOR_SETTLE_S) -> None:
        self._settled = start
        self._settle_s = settle_s
        self._sightings: deque[tuple[float, int]] = deque()

    def position(self) -> int:
        """The storage id to read after."""
        now = time.monotonic()
        while self._sightings and now - self._sightings[0][0] >= self._settle_s:
            _, storage_id = self._sightings.popleft()
            self._settled = max(self._settled, storage_id)
        return self._settled

    def saw(self, storage_id: int) -> None:
        """A read found events up to ``storage_id``."""
        self._sightings.append((time.monotonic(), storage_id))


class ProgressReader:
    """Reads a backfill's progress; each read looks only at events of the last few seconds.

    A file is done when every selected stage has a result (materialization or failure
    observation) since the launch; the latest result per stage decides whether it failed.
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        backfill_id: str,
        keys: set[str],
        stages: Sequence[Stage],
        after_storage_id: int,
    ) -> None:
        self._instance = instance
        self._backfill_id = backfill_id
        self._keys = keys
        self._stages = list(stages)
        # Per stage, where the next read starts.
        self._cursors = {stage: SettledCursor(after_storage_id) for stage in stages}
        # Per file, per stage: its latest result.
        self._results: dict[str, dict[Stage, ResultMark]] = {}

    def read(self) -> Progress:
        for stage, cursor in self._cursors.items():
            marks = latest_marks(self._instance, stage, after_storage_id=cursor.position())
            for key, mark in marks.items():
                if key not in self._keys:
                    continue
                per_stage = self._results.setdefault(key, {})
                if stage not in per_stage or per_stage[stage].storage_id < mark.storage_id:
                    per_stage[stage] = mark
            if marks:
                cursor.saw(max(mark.storage_id for mark in marks.values()))
        done = [key for key, per in self._results.items() if len(per) >= len(self._stages)]
        failed_files = sum(1 for key in done if any(m.failed for m in self._results[key].values()))
        runs = Counter(
            run.status.value
            for run in self._instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/backfill": self._backfill_id})
            )
        )
        return Progress(
            files=len(self._keys),
            done=len(done),
            succeeded=len(done) - failed_files,
            failed=failed_files,
            runs=runs,
            backfill=backfill_state(self._instance, self._backfill_id),
        )


def latest_storage_id(instance: dg.DagsterInstance) -> int:
    """A cursor: events after it happened after this call."""
    records = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_ENQUEUED, limit=1)
    storage_id = records.records[0].storage_id if records.records else 0
    for stage in Stage:
        for fetch in (instance.fetch_materializations, instance.fetch_observations):
            found = fetch(dg.AssetKey(str(stage)), limit=1)
            if found.records:
                storage_id = max(storage_id, found.records[0].storage_id)
    return storage_id


def render_progress(progress: Progress, elapsed: float, *, width: int = 30) -> str:
    filled = int(width * progress.done / progress.files) if progress.files else width
    bar = "#" * filled + "." * (width - filled)
    running = progress.runs.get("STARTED", 0) + progress.runs.get("STARTING", 0)
    queued = progress.runs.get("QUEUED", 0) + progress.runs.get("NOT_STARTED", 0)
    return (
        f"[{bar}] {progress.done}/{progress.files} files · {progress.succeeded} ok · "
        f"{progress.failed} failed · runs {running} running, {queued} queued · {elapsed:5.0f}s"
    )


def watch(
    instance: dg.DagsterInstance,
    backfill_id: str,
    keys: Sequence[str],
    stages: Sequence[Stage],
    after_storage_id: int,
    *,
    interval: float = 1.0,
    stream: Any = sys.stderr,
    on_poll: Callable[[], None] | None = None,
) -> Progress:
    """Show a progress line until every file has a result or the backfill ends.

    ``on_poll`` is called at every look (the command checks that its daemon still serves).
    """
    started = time.monotonic()
    reader = ProgressReader(instance, backfill_id, set(keys), stages, after_storage_id)
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    last_line = ""
    last_print = 0.0
    while True:
        if on_poll is not None:
            on_poll()
        polled = time.monotonic()
        if on_poll is not None:
            on_poll()
        progress = reader.read()
        cost = time.monotonic() - polled
        line = render_progress(progress, time.monotonic() - started)
        if interactive:
            stream.write("\r" + line)
            stream.flush()
        elif line != last_line and time.monotonic() - last_print > 10:
            stream.write(line + "\n")
            last_print = time.monotonic()
        last_line = line
        if progress.finished:
            if interactive:
                stream.write("\n")
            else:
                stream.write(line + "\n")
            return progress
        # Reading progress of a huge library is not free: never spend more than ~20% on it.
        time.sleep(max(interval, 4 * cost))


def wait_for_runs_to_end(
    instance: dg.DagsterInstance, run_ids: Sequence[str], *, timeout_s: float
) -> bool:
    """Wait until every run has ended (bounded by ``timeout_s``); whether they all did."""
    deadline = time.monotonic() + timeout_s
    pending = set(run_ids)
    while pending and time.monotonic() < deadline:
        records = instance.get_runs(filters=dg.RunsFilter(run_ids=list(pending)))
        pending = {run.run_id for run in records if not run.is_finished}
        if pending:
            time.sleep(0.5)
    return not pending
