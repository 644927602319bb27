"""``media-assets run``: register a library, backfill it through the daemon, summarise it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from media_assets.cli.backfill import (
    latest_storage_id,
    launch_backfill,
    wait_for_runs_to_end,
    watch,
)
from media_assets.cli.daemon_keeper import dagster_daemon
from media_assets.cli.home import open_instance
from media_assets.cli.report import build_manifest, print_summary
from media_assets.cli.services import ittybit_service
from media_assets.cli.settle import settle_files
from media_assets.defs.definitions import build_definitions
from media_assets.defs.latest_results import unfinished_keys
from media_assets.defs.partitions import MEDIA_FILES, register_sources
from media_assets.instance.backfills import (
    abandon_backfill,
    abandoned_backfills,
    cancel_backfill,
    fail_unfinished_runs,
)
from media_assets.processes import process_alive
from media_assets.registry import open_registry
from media_assets.results import pipeline_stages
from media_assets.settings import Settings, child_environment
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
    engine: str | None = None  # of a local service this command starts; None = the default
    deadlines: Mapping[str, float] = field(default_factory=dict)


COMMAND = "media-assets run"
# Backfill runs the run queue starts at once: the dagster/backfill tag limit in dagster.yaml.
BACKFILL_RUN_SLOTS = 3
# How long started runs get to cancel their remote jobs when the command is interrupted.
CANCEL_WAIT_S = 60.0
CLOSE_BACKFILL_TIMEOUT_S = 120


def run_library(options: RunOptions, settings: Settings) -> int:
    """Register ``options.sources``, process them, build the manifest; return the exit code.

    The exit code speaks of exactly the files given: 0 when each ended succeeded, cached or not
    applicable, 1 otherwise (failed, cancelled, still pending, unreadable or still being
    written), 2 when nothing could start (no files, a configuration that cannot work).
    """
    files, errors = discover(options.sources)
    if not files and not errors:
        print("error: no source files found in what was given", file=sys.stderr)
        return EXIT_USAGE
    settled = settle_files(
        files, quiet_s=settings.settle_seconds, timeout_s=settings.settle_timeout_seconds
    )
    files, errors = settled.files, [*errors, *settled.still_written]
    for error in errors:
        print(f"error: {error.source}: {error.reason}", file=sys.stderr)
    if not files:
        print("error: none of the sources can be processed", file=sys.stderr)
        return EXIT_USAGE if not settled.still_written else EXIT_SOME_FAILED
    settings = _sized_for(settings, options, len(files))
    launched: str | None = None
    with (
        open_instance(settings) as instance,
        ittybit_service(
            settings, allow_roots=_allowed_roots(files), engine=options.engine
        ) as settings,
        dagster_daemon(
            instance,
            settings,
            log_path=settings.logs_dir / "daemon.log",
            command_name=COMMAND,
            own_backfill=lambda: launched,
        ) as daemon,
    ):
        _abandon_orphans(instance)
        registry = open_registry(settings)
        added = register_sources(instance, files, registry=registry)
        stages = pipeline_stages(adaptive_video=settings.adaptive_video)
        given = keys = [file.key for file in files]
        if options.failed_only:
            keys = unfinished_keys(instance, given, stages)
            if not keys:
                print("nothing failed: no file to re-run")
                return _finish(instance, settings, given, errors)
        print(f"{len(keys)} file(s) to process ({len(added)} newly registered)")
        cursor = latest_storage_id(instance)
        backfill_id = launch_backfill(
            instance,
            build_definitions(settings).resolve_asset_graph(),
            _covering_range(instance, keys) if options.failed_only else keys,
            stages=stages,
            run_config=_run_config(options),
            title=f"media-assets run ({len(keys)} files)",
        )
        launched = backfill_id
        print(f"backfill {backfill_id} launched; runs go through the Dagster run queue")

        def keep_daemon() -> None:
            daemon.check(on_lost=lambda: _retry_lost_runs(instance, backfill_id))

        try:
            watch(instance, backfill_id, keys, stages, cursor, on_poll=keep_daemon)
        except BaseException:
            _cancel(instance, backfill_id)
            raise
        closes_backfill = daemon.keeps_one
    if closes_backfill:
        _close_backfill(settings, backfill_id)
    with open_instance(settings) as instance:
        build_manifest(instance)
        return _finish(instance, settings, given, errors, backfill_id=backfill_id)


def _abandon_orphans(instance: dg.DagsterInstance) -> None:
    """Close backfills left open by a command on this machine that was killed."""
    for backfill_id in abandoned_backfills(
        instance, host=socket.gethostname(), is_alive=process_alive
    ):
        abandon_backfill(
            instance, backfill_id, "the media-assets command that launched it was killed"
        )
        print(
            f"cancelled backfill {backfill_id}, left open by a media-assets command that was "
            "killed; its finished stages are reused",
            file=sys.stderr,
        )


def _retry_lost_runs(instance: dg.DagsterInstance, backfill_id: str) -> None:
    """Our daemon stopped and took its run workers along: their runs are failed, then retried."""
    lost = fail_unfinished_runs(
        instance, backfill_id, "its run worker stopped with the Dagster daemon"
    )
    if lost:
        print(f"{lost} run(s) lost their worker; they will be retried", file=sys.stderr)


def _cancel(instance: dg.DagsterInstance, backfill_id: str) -> None:
    """Interrupted: launch nothing more and let started runs cancel their remote jobs."""
    print(f"\ncancelling backfill {backfill_id}", file=sys.stderr)
    try:
        run_ids = cancel_backfill(instance, backfill_id)
        wait_for_runs_to_end(instance, run_ids, timeout_s=CANCEL_WAIT_S)
    except Exception as error:  # the daemon is stopped next either way
        print(f"warning: could not cancel backfill {backfill_id}: {error}", file=sys.stderr)
    else:
        print(
            "cancelled; run the same command again to resume: finished stages are reused",
            file=sys.stderr,
        )


def _sized_for(settings: Settings, options: RunOptions, files: int) -> Settings:
    """``settings`` with the run size this library gets; the daemon's backfill policy uses it.

    ``--files-per-run`` wins, then ``MEDIA_ASSETS_FILES_PER_RUN`` if set, else a size chosen for
    the library (``files_per_run_for``).
    """
    if options.files_per_run:
        size = options.files_per_run
    elif "files_per_run" in settings.model_fields_set:
        size = settings.files_per_run
    else:
        size = files_per_run_for(files)
    return settings.model_copy(update={"files_per_run": size})


def _close_backfill(settings: Settings, backfill_id: str) -> None:
    """Give the finished backfill its final status now, not at the next daemon's first tick."""
    command = [sys.executable, "-m", "media_assets.instance.backfills", backfill_id]
    try:
        done = subprocess.run(
            command,
            env=child_environment(settings),
            capture_output=True,
            text=True,
            timeout=CLOSE_BACKFILL_TIMEOUT_S,
        )
        closed = done.returncode == 0
        if done.returncode not in (0, 1):  # never fail a finished run over UI bookkeeping
            print(f"warning: could not close backfill {backfill_id}:", file=sys.stderr)
            print(done.stderr.strip()[-2000:], file=sys.stderr)
    except subprocess.TimeoutExpired:
        closed = False
    if not closed:
        print(
            f"backfill {backfill_id} is still open; the next Dagster daemon to run closes it",
            file=sys.stderr,
        )


def _finish(
    instance: dg.DagsterInstance,
    settings: Settings,
    keys: Sequence[str],
    errors: Sequence[SourceError],
    *,
    backfill_id: str | None = None,
) -> int:
    unfinished = print_summary(
        instance,
        settings.manifest_path,
        keys,
        source_errors=errors,
        backfill_id=backfill_id,
        outputs=None if settings.uses_hosted_api else settings.output_path,
    )
    return EXIT_SOME_FAILED if unfinished or errors else EXIT_OK


def _run_config(options: RunOptions) -> dict[str, object] | None:
    config: dict[str, object] = {}
    if options.force:
        config["force"] = True
    if options.deadlines:
        config["deadlines_s"] = dict(options.deadlines)
    if options.max_in_flight:
        # The machine-wide cap binds; each run may use all of it, so the slots a finishing run
        # frees are taken at once by the runs still going.
        config["max_in_flight"] = options.max_in_flight
        config["run_in_flight"] = options.max_in_flight
    return {"ops": {"media_pipeline": {"config": config}}} if config else None


def files_per_run_for(files: int) -> int:
    """Files per ranged run of a library of ``files`` files.

    Starting a run costs seconds of CPU (a process importing Dagster and the definitions), so
    runs are large. Up to 1,500 files the library is split over the backfill's run slots
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


def _covering_range(instance: dg.DagsterInstance, keys: Sequence[str]) -> list[str]:
    """Every partition between the first and last of ``keys`` in partition order.

    A scattered selection would become one run per file (Dagster chunks only contiguous
    ranges); the covering range stays a few ranged runs, and stages already done for the same
    source version and options are recorded as cached instead of being run again.
    """
    order = instance.get_dynamic_partitions(MEDIA_FILES)
    wanted = set(keys)
    positions = [i for i, key in enumerate(order) if key in wanted]
    if not positions:
        return list(keys)
    return list(order[positions[0] : positions[-1] + 1])
