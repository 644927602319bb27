"""Launching a library backfill through Dagster's backfill machinery, and watching it.

The backfill is the same object the UI creates (it shows on the UI's backfill page); the daemon
chunks it into ranged runs by the pipeline's backfill policy and the run queue throttles them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.execution.backfill import (
    BULK_ACTION_TERMINAL_STATUSES,
    BulkActionStatus,
    PartitionBackfill,
)
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.utils import make_new_backfill_id

from media_assets.manifest.records import Stage
from media_assets.settings import CODE_LOCATION_MODULE

BACKFILL_PRIORITY = "-1"  # below UI and sensor runs, so new uploads are not starved
_TERMINAL_RUN = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


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
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=asset_graph,
        partition_names=list(keys),
        asset_selection=[dg.AssetKey(str(stage)) for stage in stages],
        backfill_timestamp=time.time(),
        tags={"dagster/priority": BACKFILL_PRIORITY, "media_assets/source": "cli"},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=None,
        run_config=dict(run_config) if run_config else None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


@dataclass(frozen=True)
class Progress:
    files: int
    done: int
    succeeded: int
    failed: int
    runs: Counter[str]
    backfill_status: BulkActionStatus

    @property
    def finished(self) -> bool:
        if self.backfill_status in BULK_ACTION_TERMINAL_STATUSES:
            return True
        active = ("NOT_STARTED", "QUEUED", "STARTING", "STARTED", "CANCELING")
        return self.done >= self.files and not any(self.runs.get(s, 0) for s in active)


class ProgressReader:
    """Reads a backfill's progress; each read looks only at events since the previous one.

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
        # Per (stage, event type), the newest storage id read so far.
        self._cursors = {
            (stage, event_type): after_storage_id
            for stage in stages
            for event_type in (
                DagsterEventType.ASSET_MATERIALIZATION,
                DagsterEventType.ASSET_OBSERVATION,
            )
        }
        # Per file, per stage: (storage id, failed) of its latest result.
        self._results: dict[str, dict[Stage, tuple[int, bool]]] = {}

    def read(self) -> Progress:
        storage = self._instance.event_log_storage
        for (stage, event_type), cursor in self._cursors.items():
            latest = storage.get_latest_storage_id_by_partition(
                dg.AssetKey(str(stage)), event_type, None, after_cursor=cursor
            )
            failed = event_type == DagsterEventType.ASSET_OBSERVATION
            for key, storage_id in latest.items():
                if key not in self._keys:
                    continue
                per_stage = self._results.setdefault(key, {})
                if stage not in per_stage or per_stage[stage][0] < storage_id:
                    per_stage[stage] = (storage_id, failed)
            if latest:
                self._cursors[(stage, event_type)] = max(cursor, *latest.values())
        done = [key for key, per in self._results.items() if len(per) >= len(self._stages)]
        failed_files = sum(1 for key in done if any(f for _, f in self._results[key].values()))
        runs = Counter(
            run.status.value
            for run in self._instance.get_runs(
                filters=RunsFilter(tags={"dagster/backfill": self._backfill_id})
            )
        )
        backfill = self._instance.get_backfill(self._backfill_id)
        status = backfill.status if backfill else BulkActionStatus.FAILED
        return Progress(
            files=len(self._keys),
            done=len(done),
            succeeded=len(done) - failed_files,
            failed=failed_files,
            runs=runs,
            backfill_status=status,
        )


def close_backfills(instance: dg.DagsterInstance, backfill_id: str) -> BulkActionStatus | None:
    """Run one backfill-daemon iteration in this process, so finished backfills get closed.

    The daemon records a backfill's outcome only at its next iteration (every 30 s, fixed in
    Dagster); the CLI stops the daemon it started as soon as every file is done, which would leave
    the backfill "in progress" in the UI. Call it only when no daemon serves the instance.
    Returns the status of ``backfill_id`` afterwards.
    """
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.backfill import execute_backfill_iteration

    backfill = instance.get_backfill(backfill_id)
    if backfill is None or backfill.status in BULK_ACTION_TERMINAL_STATUSES:
        return backfill.status if backfill else None
    target = ModuleTarget(
        module_name=CODE_LOCATION_MODULE, attribute=None, working_directory=None, location_name=None
    )
    logger = logging.getLogger("media_assets.backfill")
    with WorkspaceProcessContext(instance, target, code_server_log_level="warning") as context:
        for error in execute_backfill_iteration(context, logger):
            if error is not None:
                logger.warning("closing backfills: %s", error.to_string())
    backfill = instance.get_backfill(backfill_id)
    return backfill.status if backfill else None


def latest_storage_id(instance: dg.DagsterInstance) -> int:
    """A cursor: events after it happened after this call."""
    records = instance.fetch_run_status_changes(DagsterEventType.RUN_ENQUEUED, limit=1)
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
) -> Progress:
    """Show a progress line until every file has a result or the backfill ends."""
    started = time.monotonic()
    reader = ProgressReader(instance, backfill_id, set(keys), stages, after_storage_id)
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    last_line = ""
    last_print = 0.0
    while True:
        polled = time.monotonic()
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
