"""``media-assets run``: register a library, backfill it through the daemon, summarise it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from media_assets.cli.backfill import latest_storage_id, launch_backfill, watch
from media_assets.cli.home import open_instance
from media_assets.cli.report import build_manifest, print_summary
from media_assets.cli.services import dagster_daemon, ittybit_service
from media_assets.defs.definitions import build_definitions
from media_assets.defs.latest_results import unfinished_keys
from media_assets.defs.partitions import MEDIA_FILES, register_sources
from media_assets.registry import open_registry
from media_assets.results import ALL_STAGES
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
    engine: str = "ffmpeg"


# Backfill runs the run queue starts at once: the dagster/backfill tag limit in dagster.yaml.
BACKFILL_RUN_SLOTS = 3
CLOSE_BACKFILL_TIMEOUT_S = 120


def run_library(options: RunOptions, settings: Settings) -> int:
    """Register ``options.sources``, process them, build the manifest; return the exit code."""
    files, errors = discover(options.sources)
    for error in errors:
        print(f"error: {error.source}: {error.reason}", file=sys.stderr)
    if not files:
        print("error: no source files found in what was given", file=sys.stderr)
        return EXIT_USAGE
    settings = _sized_for(settings, options, len(files))
    with open_instance(settings) as instance:
        registry = open_registry(settings)
        register_sources(instance, files, registry=registry)
        keys = [file.key for file in files]
        if options.failed_only:
            keys = unfinished_keys(instance, keys)
            if not keys:
                print("nothing failed: no file to re-run")
                return _finish(instance, settings, files, errors)
        print(f"{len(keys)} file(s) registered as partitions of media_files")
        roots = _allowed_roots(files)
        with ittybit_service(settings, allow_roots=roots, engine=options.engine) as settings:
            cursor = latest_storage_id(instance)
            backfill_id = launch_backfill(
                instance,
                build_definitions(settings).resolve_asset_graph(),
                _covering_range(instance, keys) if options.failed_only else keys,
                stages=ALL_STAGES,
                run_config=_run_config(options),
                title=f"media-assets run ({len(keys)} files)",
            )
            print(f"backfill {backfill_id} launched; runs go through the Dagster run queue")
            log_path = settings.logs_dir / "daemon.log"
            with dagster_daemon(
                instance, settings, log_path=log_path, own_backfill=backfill_id
            ) as daemon:
                watch(instance, backfill_id, keys, ALL_STAGES, cursor, on_poll=daemon.ensure)
            if daemon.started:
                _close_backfill(settings, backfill_id)
            build_manifest(instance)
        return _finish(instance, settings, files, errors)


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
    files: Sequence[SourceFile],
    errors: Sequence[SourceError],
) -> int:
    """Summarise the files given (not the rest of a shared library); the exit code says it."""
    keys = list(dict.fromkeys(file.key for file in files))
    failed = print_summary(instance, settings.manifest_path, keys=keys, source_errors=errors)
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
