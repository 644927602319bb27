"""``batch_manifest``: the DuckDB manifest, kept current from the event log by its only writer.

Per-file results live in Dagster's event log; this asset turns them into
``$MEDIA_ASSETS_HOME/manifest.duckdb``. The manifest remembers the newest event-log storage id it
has read, so each materialization reads only the results and check verdicts stored since then
and applies them to a copy of the file (see ``manifest.writer``); ``rebuild`` reads everything
and writes a new file. The ``manifest_updates`` sensor materializes it whenever there is
something new, however the work was launched, and ``media-assets run`` does at its end.

It runs in the pool ``duckdb_writer`` (limit 1), and writers take turns through a lock file, so
two of them never write the file at once.
"""

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
from pydantic import Field

from media_assets.defs.latest_results import (
    CheckMark,
    check_messages,
    latest_check_marks,
    latest_marks,
    latest_results,
    media_result,
    metadata_at,
)
from media_assets.defs.partitions import MEDIA_FILES
from media_assets.instance.connections import keep_connections_open
from media_assets.manifest.queries import read_summary
from media_assets.manifest.writer import (
    CheckUpdate,
    ManifestSummary,
    manifest_lock,
    read_cursor,
    update_manifest,
    write_manifest,
)
from media_assets.registry import default_registry
from media_assets.results import ALL_STAGES, MediaResult, Stage, pipeline_stages
from media_assets.settings import load_settings

MANIFEST_POOL = "duckdb_writer"
MANIFEST_ASSET = "batch_manifest"


class ManifestConfig(dg.Config):
    """Run configuration of ``batch_manifest``; a UI click needs none."""

    rebuild: bool = Field(
        default=False,
        description="Read the whole event log and write a new manifest, instead of applying "
        "only what was recorded since the manifest was last written",
    )


def collect_results(instance: dg.DagsterInstance) -> Iterator[MediaResult]:
    """One result per registered file and stage: the latest recorded, else ``pending``.

    The stages are the library's: the contract's four, plus optional ones it turned on.
    """
    keys = instance.get_dynamic_partitions(MEDIA_FILES)
    sources = default_registry().get_many(keys)
    for stage in _library_stages():
        recorded = latest_results(instance, stage)
        for key in keys:
            result = recorded.get(key)
            if result is None:
                uri = sources[key].uri if key in sources else key
                result = MediaResult.pending(key, uri, stage)
            yield result


def _library_stages() -> tuple[Stage, ...]:
    """The contract's four stages, plus the optional ones the library turned on."""
    return pipeline_stages(adaptive_video=load_settings().adaptive_video)


@dataclass
class ManifestChanges:
    """What the event log holds after a storage id: new rows, newer check verdicts."""

    registered: list[str]
    results: list[MediaResult] = field(default_factory=list)
    checks: list[CheckUpdate] = field(default_factory=list)
    cursor: int = 0


def collect_changes(instance: dg.DagsterInstance, after: int | None) -> ManifestChanges:
    """Results and check verdicts stored after ``after`` (everything when None).

    A result's row carries its output check only when the check is newer than the result (an
    older check judged an earlier output). The cursor is the newest storage id when reading
    began: anything stored later is read by the next update.
    """
    try:
        newest = instance.event_log_storage.get_maximum_record_id()
    except NotImplementedError:
        newest = None
    changes = ManifestChanges(registered=list(instance.get_dynamic_partitions(MEDIA_FILES)))
    wanted = set(changes.registered)
    seen = after or 0
    for stage in _library_stages():
        marks = {
            key: mark
            for key, mark in latest_marks(instance, stage, after_storage_id=after).items()
            if key in wanted
        }
        checks = {
            key: mark
            for key, mark in latest_check_marks(instance, stage, after_storage_id=after).items()
            if key in wanted
        }
        messages = check_messages(instance, checks.values())
        for key, metadata in metadata_at(instance, stage, marks).items():
            check = checks.get(key)
            newer = check is not None and check.storage_id > marks[key].storage_id
            # Set before the result is built: copying 200,000 results would cost seconds.
            metadata["check_status"], metadata["check_message"] = (
                _verdict(check, messages) if check is not None and newer else (None, None)
            )
            result = media_result(metadata)
            if result is not None:
                changes.results.append(result)
        for key, check in checks.items():
            if key not in marks and (after is None or check.storage_id > after):
                changes.checks.append(CheckUpdate(key, stage.value, *_verdict(check, messages)))
        seen = max(
            [
                seen,
                *(mark.storage_id for mark in marks.values()),
                *(mark.storage_id for mark in checks.values()),
            ]
        )
    changes.cursor = newest if newest is not None else seen
    return changes


def _verdict(check: CheckMark, messages: Mapping[int, str]) -> tuple[str | None, str | None]:
    """``check_status`` and ``check_message`` of a check: none while it is only planned."""
    if check.passed is None:
        return None, None
    if check.passed:
        return "passed", None
    return "failed", messages.get(check.storage_id)


def refresh_manifest(instance: dg.DagsterInstance, *, rebuild: bool = False) -> ManifestSummary:
    """Bring the manifest up to date: apply what is new, or rebuild it when asked or needed."""
    path = load_settings().manifest_path
    with manifest_lock(path):
        cursor = None if rebuild else read_cursor(path)
        changes = collect_changes(instance, cursor)
        if cursor is None:
            return write_manifest(path, _full_rows(changes), cursor=changes.cursor)
        return update_manifest(
            path,
            results=changes.results,
            checks=changes.checks,
            registered=changes.registered,
            source_uris=_source_uris,
            cursor=changes.cursor,
            stages=_library_stages(),
        )


def _full_rows(changes: ManifestChanges) -> list[MediaResult]:
    """Every registered file's rows: its recorded results, then ``pending`` for the rest.

    ``changes.results`` has at most one result per (file, stage), so a file with a result for
    every stage is complete; only the others are looked at stage by stage (hashing 200,000
    enum pairs would cost most of a second).
    """
    stages = _library_stages()
    counts = Counter(result.partition_key for result in changes.results)
    incomplete = {key for key in changes.registered if counts[key] < len(stages)}
    recorded = {
        (result.partition_key, result.stage)
        for result in changes.results
        if result.partition_key in incomplete
    }
    missing = [
        (key, stage)
        for key in changes.registered
        if key in incomplete
        for stage in stages
        if (key, stage) not in recorded
    ]
    uris = _source_uris(list(dict.fromkeys(key for key, _ in missing)))
    pending = [MediaResult.pending(key, uris.get(key, key), stage) for key, stage in missing]
    return [*changes.results, *pending]


def _source_uris(keys: Sequence[str]) -> dict[str, str]:
    sources = default_registry().get_many(list(keys))
    return {key: source.uri for key, source in sources.items()}


@dg.asset(
    name=MANIFEST_ASSET,
    group_name="media",
    deps=[str(stage) for stage in ALL_STAGES],
    pool=MANIFEST_POOL,
    kinds={"duckdb"},
)
def batch_manifest(
    context: dg.AssetExecutionContext, config: ManifestConfig
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Per-file results, check verdicts and totals of the whole library, as a DuckDB file."""
    keep_connections_open(context.instance)  # reads the latest event of every file and stage
    written = refresh_manifest(context.instance, rebuild=config.rebuild)
    summary = read_summary(written.path)
    columns = [dg.TableColumn(name, "string" if name == "stage" else "int") for name in summary[0]]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(written.path)),
            "dagster/row_count": written.rows,
            "rows_written": written.changed_rows,
            "cursor": read_cursor(written.path) or 0,
            "summary": dg.MetadataValue.table(
                records=[dg.TableRecord(row) for row in summary],
                schema=dg.TableSchema(columns=columns),
            ),
        }
    )
