"""The ``new_uploads`` sensor: files dropped into a watched folder become partitions and runs.

Settings (``media_assets.settings``, read at every tick): ``watch_dir``, the folder to watch,
recursively (hidden and temporary files are ignored, as in ``media_assets.sources.discover``);
``files_per_run``, files per launched run; ``sensor_max_keys``, most files added and requested per
tick (the rest follow on later ticks).

A file is taken only once its size and mtime are the same on two consecutive ticks, so a file
still being copied in is not processed half-written. The cursor holds ``(size, mtime_ns)`` of the
files waiting for that second look, nothing else; which files are already known comes from the
instance's partition keys (one query) and the source registry (one query), so a tick over a
50,000-file folder stays within seconds.

New files are appended to the ``media_files`` partitions in one request, so their keys are
contiguous and each chunk of ``files_per_run`` becomes one ranged run rather than one run per file.
A known file whose size or mtime changed is re-registered and re-run on its own (changed files are
not contiguous). Runs carry ``dagster/priority: 10`` so new uploads go ahead of queued backfill
runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import dagster as dg

from media_assets.defs.partitions import MEDIA_FILES, media_files
from media_assets.registry import KeyConflictError, SourceRegistry, default_registry
from media_assets.results import ALL_STAGES, Stage, pipeline_stages
from media_assets.settings import env_name, load_settings
from media_assets.sources import SourceError, SourceFile, fingerprint_file, scan_folder

PIPELINE_ASSET_KEYS: list[dg.AssetKey] = [dg.AssetKey(stage.value) for stage in ALL_STAGES]
SOURCE_TAG = "media_assets/source"
SENSOR_RUN_PRIORITY = "10"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_CURSOR_VERSION = 1
_ERRORS_LOGGED = 5

Stat = tuple[int, int]


@dataclass
class UploadsCursor:
    """Sizes and mtimes of files seen once and waiting for a second, identical look."""

    pending: dict[str, Stat] = field(default_factory=dict)

    def to_json(self) -> str:
        pending = {key: list(stat) for key, stat in self.pending.items()}
        return json.dumps({"v": _CURSOR_VERSION, "pending": pending}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> UploadsCursor:
        """Parse a cursor; an absent or unreadable one starts over (files wait one more tick)."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            pending = {
                str(key): (int(size), int(mtime)) for key, (size, mtime) in raw["pending"].items()
            }
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
        return cls(pending=pending)


@dataclass
class UploadsPlan:
    """What one tick decided."""

    new: list[SourceFile] = field(default_factory=list)  # stable, never registered: add + run
    changed: list[SourceFile] = field(default_factory=list)  # stable, content changed: re-run
    repaired: list[SourceFile] = field(default_factory=list)  # partition without facts: record
    cursor: UploadsCursor = field(default_factory=UploadsCursor)
    waiting: int = 0  # seen for the first time or still changing
    deferred: int = 0  # over this tick's limits, picked up later
    errors: list[SourceError] = field(default_factory=list)


def plan_uploads(
    scanned: Iterable[SourceFile | SourceError],
    *,
    known_keys: set[str],
    registered: dict[str, tuple[int | None, int | None]],
    cursor: UploadsCursor,
    max_keys: int,
) -> UploadsPlan:
    """Decide which scanned files are ready, which wait, and what the next cursor holds.

    Ready files (new or changed) are capped at ``max_keys``; ready files over the cap stay in the
    cursor so they go first next tick. Files waiting for a second look are tracked up to
    ``2 * max_keys``, enough to keep a full batch ready every tick.
    """
    plan = UploadsPlan()
    pending: dict[str, Stat] = {}
    pending_limit = 2 * max_keys
    for item in scanned:
        if isinstance(item, SourceError):
            plan.errors.append(item)
            continue
        if item.size is None or item.mtime_ns is None:
            continue  # only remote sources lack a stat, and a folder scan yields none
        stat: Stat = (item.size, item.mtime_ns)
        is_known = item.key in known_keys
        if is_known:
            facts = registered.get(item.key)
            if facts is None:
                plan.repaired.append(item)
                continue
            if facts == stat:
                continue
        settled = cursor.pending.get(item.key) == stat
        if settled and len(plan.new) + len(plan.changed) < max_keys:
            (plan.changed if is_known else plan.new).append(item)
        elif len(pending) < pending_limit:
            pending[item.key] = stat
            if settled:
                plan.deferred += 1
            else:
                plan.waiting += 1
        else:
            plan.deferred += 1
    plan.cursor = UploadsCursor(pending=pending)
    return plan


def build_run_requests(
    new_keys: Sequence[str],
    changed: Sequence[SourceFile],
    *,
    chunk_size: int,
    selection: list[dg.AssetKey] = PIPELINE_ASSET_KEYS,
) -> list[dg.RunRequest]:
    """Ranged runs of ``selection`` over contiguous chunks of new keys, and one per changed file."""
    requests = [
        _ranged_request(
            new_keys[start],
            new_keys[min(start + chunk_size, len(new_keys)) - 1],
            selection=selection,
        )
        for start in range(0, len(new_keys), chunk_size)
    ]
    for file in changed:
        # The version in the run key lets a file that changes again be re-run again.
        requests.append(
            _ranged_request(file.key, file.key, version=file.version, selection=selection)
        )
    return requests


def asset_keys(stages: Sequence[Stage]) -> list[dg.AssetKey]:
    return [dg.AssetKey(stage.value) for stage in stages]


def build_new_uploads_sensor(
    *, running: bool, stages: Sequence[Stage] = ALL_STAGES
) -> dg.SensorDefinition:
    """The ``new_uploads`` sensor, switched on from the start when ``running`` (``dev`` does)."""
    return dg.sensor(
        name="new_uploads",
        target=dg.AssetSelection.assets(*asset_keys(stages)),
        minimum_interval_seconds=15,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
        ),
        description="Registers files that settle in the watch folder and launches ranged runs.",
    )(new_uploads)


def new_uploads(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Scan the watch folder, register settled new or changed files, request runs for them."""
    settings = load_settings()
    folder = settings.watch_path
    if not folder.is_dir():
        return dg.SensorResult(
            skip_reason=f"watch folder {folder} does not exist (create it or set"
            f" {env_name('watch_dir')})",
            cursor=context.cursor,
        )
    max_keys, chunk_size = settings.sensor_max_keys, settings.files_per_run
    registry = default_registry()
    plan = plan_uploads(
        scan_folder(folder),
        known_keys=set(context.instance.get_dynamic_partitions(MEDIA_FILES)),
        registered=registry.stat_index(),
        cursor=UploadsCursor.from_json(context.cursor),
        max_keys=max_keys,
    )
    new = _with_fingerprints(plan.new, plan.errors)
    changed = _with_fingerprints(plan.changed, plan.errors)
    for error in plan.errors[:_ERRORS_LOGGED]:
        context.log.warning(f"skipped {error}")
    new, changed = _register(registry, new, changed, plan.repaired, context.log)
    new_keys = [file.key for file in new]
    stages = pipeline_stages(adaptive_video=settings.adaptive_video)
    run_requests = build_run_requests(
        new_keys, changed, chunk_size=chunk_size, selection=asset_keys(stages)
    )

    summary = (
        f"{len(new)} new, {len(changed)} changed, {plan.waiting} waiting to settle,"
        f" {plan.deferred} deferred, {len(plan.errors)} unreadable"
    )
    context.log.info(f"{folder}: {summary}")
    cursor = plan.cursor.to_json()
    if not run_requests:
        return dg.SensorResult(skip_reason=f"nothing ready: {summary}", cursor=cursor)
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[media_files.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor,
    )


def _ranged_request(
    first: str, last: str, *, version: str | None = None, selection: list[dg.AssetKey]
) -> dg.RunRequest:
    run_key = f"{first}:{last}" if version is None else f"{first}:{version}"
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=selection,
        tags={
            RANGE_START_TAG: first,
            RANGE_END_TAG: last,
            SOURCE_TAG: "sensor",
            "dagster/priority": SENSOR_RUN_PRIORITY,
        },
    )


def _with_fingerprints(files: list[SourceFile], errors: list[SourceError]) -> list[SourceFile]:
    # Only files about to be registered are read, so a tick never reads the whole folder.
    done: list[SourceFile] = []
    for file in files:
        path = file.local_path
        if path is None or file.size is None:
            continue
        try:
            done.append(replace(file, fingerprint=fingerprint_file(path, file.size)))
        except OSError as exc:
            errors.append(SourceError(str(path), f"cannot read: {exc.strerror or exc}"))
    return done


def _register(
    registry: SourceRegistry,
    new: list[SourceFile],
    changed: list[SourceFile],
    repaired: list[SourceFile],
    log: logging.Logger,
) -> tuple[list[SourceFile], list[SourceFile]]:
    try:
        registry.upsert([*new, *changed, *repaired])
    except KeyConflictError as exc:
        # Leave the conflicting files out rather than fail the tick for everyone else.
        log.error(str(exc))
        bad = {file.uri for file, _ in exc.conflicts}
        new = [file for file in new if file.uri not in bad]
        changed = [file for file in changed if file.uri not in bad]
        registry.upsert([*new, *changed, *(f for f in repaired if f.uri not in bad)])
    return new, changed
