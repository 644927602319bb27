"""``media-assets run``: register a library, backfill it through the daemon, summarise it."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES

from media_assets.cli.backfill import close_backfills, latest_storage_id, launch_backfill, watch
from media_assets.cli.home import prepare_home
from media_assets.cli.report import build_manifest, print_summary
from media_assets.cli.services import dagster_daemon, ittybit_service
from media_assets.defs.partitions import register_sources
from media_assets.defs.resources import MAX_IN_FLIGHT_ENV
from media_assets.manifest.records import ResultStatus
from media_assets.pipeline.stages import ALL_STAGES
from media_assets.registry import SourceRegistry
from media_assets.settings import FILES_PER_RUN_ENV
from media_assets.sources import SourceError, SourceFile, discover

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    sources: Sequence[str]
    max_in_flight: int | None = None
    files_per_run: int | None = None
    failed_only: bool = False
    force: bool = False
    engine: str = "ffmpeg"


# Backfill runs the run queue starts at once: the dagster/backfill tag limit in dagster.yaml.
BACKFILL_RUN_SLOTS = 3


def run_library(options: RunOptions) -> int:
    """Register ``options.sources``, process them, build the manifest; return the exit code."""
    home = prepare_home()
    if options.max_in_flight:
        os.environ[MAX_IN_FLIGHT_ENV] = str(options.max_in_flight)
    files, errors = discover(options.sources)
    if options.files_per_run:
        os.environ[FILES_PER_RUN_ENV] = str(options.files_per_run)
    else:
        # Sized so a big library is a few hundred ranged runs, not tens of thousands of queued ones.
        os.environ.setdefault(FILES_PER_RUN_ENV, str(files_per_run_for(len(files))))
    for error in errors:
        print(f"error: {error.source}: {error.reason}", file=sys.stderr)
    if not files:
        print("error: no source files found in what was given", file=sys.stderr)
        return EXIT_USAGE
    with dg.DagsterInstance.get() as instance:
        SourceRegistry.default().upsert(files)
        register_sources(instance, files)
        keys = [file.key for file in files]
        if options.failed_only:
            keys = _failed_keys(instance, keys)
            if not keys:
                print("nothing failed: no file to re-run")
                return _finish(instance, errors)
        print(f"{len(keys)} file(s) registered as partitions of media_files")
        roots = _allowed_roots(files)
        with ittybit_service(home=home, allow_roots=roots, engine=options.engine):
            cursor = latest_storage_id(instance)
            run_config = _run_config(options)
            from media_assets.definitions import defs

            backfill_id = launch_backfill(
                instance,
                defs.resolve_asset_graph(),
                _covering_range(instance, keys) if options.failed_only else keys,
                stages=ALL_STAGES,
                run_config=run_config,
                title=f"media-assets run ({len(keys)} files)",
            )
            print(f"backfill {backfill_id} launched; runs go through the Dagster run queue")
            with dagster_daemon(instance, log_path=home / "logs" / "daemon.log") as started:
                watch(instance, backfill_id, keys, ALL_STAGES, cursor)
            if started:
                _close_backfill(instance, backfill_id)
            build_manifest(instance)
        return _finish(instance, errors)


def _close_backfill(instance: dg.DagsterInstance, backfill_id: str) -> None:
    """Give the finished backfill its final status now, not at the next daemon's first tick."""
    try:
        status = close_backfills(instance, backfill_id)
    except Exception as error:  # never fail a finished run over UI bookkeeping
        status = None
        print(f"warning: could not close backfill {backfill_id}: {error}", file=sys.stderr)
    if status is None or status not in BULK_ACTION_TERMINAL_STATUSES:
        print(
            f"backfill {backfill_id} is still open; the next Dagster daemon to run closes it",
            file=sys.stderr,
        )


def _finish(instance: dg.DagsterInstance, errors: Sequence[SourceError]) -> int:
    failed = print_summary(instance, source_errors=errors)
    return EXIT_SOME_FAILED if failed or errors else EXIT_OK


def _run_config(options: RunOptions) -> dict[str, object] | None:
    config: dict[str, object] = {}
    if options.force:
        config["force"] = True
    if options.max_in_flight:
        # The machine-wide cap binds; each run may use all of it, so the slots a finishing run
        # frees are taken at once by the runs still going.
        config["max_in_flight"] = options.max_in_flight
        config["run_in_flight"] = options.max_in_flight
    return {"ops": {"media_pipeline": {"config": config}}} if config else None


def files_per_run_for(files: int) -> int:
    """Files per ranged run of a library of ``files`` files.

    Starting a run costs ~2.5 CPU-s (a process importing Dagster and the definitions), so runs
    are large. Up to 1,500 files the library is split over the backfill's run slots
    (``BACKFILL_RUN_SLOTS``), at least 25 files a run: every run starts at once and none waits for
    another to end, so no slot idles while runs end together. Bigger libraries get runs of 250
    files, growing past 50,000 files so there are at most ~200 runs, up to 1,000 files each.
    """
    per_slot = -(-files // BACKFILL_RUN_SLOTS)
    if per_slot <= 500:
        return max(25, per_slot)
    return min(1000, max(250, -(-files // 200)))


def _allowed_roots(files: Sequence[SourceFile]) -> list[Path]:
    """The folders the local service may read: the parent of every local source."""
    roots = {path.parent for path in (file.local_path for file in files) if path is not None}
    # Collapse to top-most folders so the service gets a short list.
    ordered = sorted(roots, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in ordered:
        if not any(root.is_relative_to(parent) for parent in kept):
            kept.append(root)
    return kept


def _failed_keys(instance: dg.DagsterInstance, keys: Sequence[str]) -> list[str]:
    """Keys with a failed or missing stage result."""
    from media_assets.defs.history import latest_metadata, media_result

    wanted = set(keys)
    bad: set[str] = set()
    for stage in ALL_STAGES:
        recorded = latest_metadata(instance, stage, keys)
        for key in wanted:
            result = media_result(recorded[key]) if key in recorded else None
            if result is None or result.status in (ResultStatus.FAILED, ResultStatus.PENDING):
                bad.add(key)
    return [key for key in keys if key in bad]


def _covering_range(instance: dg.DagsterInstance, keys: Sequence[str]) -> list[str]:
    """Every partition between the first and last of ``keys`` in partition order.

    A scattered selection would become one run per file (Dagster chunks only contiguous
    ranges); the covering range stays a few ranged runs, and stages already done for the same
    source version and options are recorded as cached instead of being run again.
    """
    from media_assets.defs.partitions import MEDIA_FILES

    order = instance.get_dynamic_partitions(MEDIA_FILES)
    wanted = set(keys)
    positions = [i for i, key in enumerate(order) if key in wanted]
    if not positions:
        return list(keys)
    return list(order[positions[0] : positions[-1] + 1])
