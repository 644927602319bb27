"""Building the manifest from the CLI and printing what happened."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import dagster as dg

from media_assets.defs.batch_manifest import batch_manifest
from media_assets.defs.partitions import MEDIA_FILES
from media_assets.defs.sensors import RANGE_END_TAG, RANGE_START_TAG
from media_assets.manifest.queries import query, read_summary, render
from media_assets.manifest.schema import STAGE_ORDER_SQL, TABLE
from media_assets.sources import SourceError


def build_manifest(instance: dg.DagsterInstance, *, rebuild: bool = False) -> None:
    """Materialize ``batch_manifest`` (its only writer) against ``instance``.

    It applies what was recorded since the manifest was last written; ``rebuild`` reads the
    whole event log instead.
    """
    result = dg.materialize(
        [batch_manifest],
        instance=instance,
        raise_on_error=False,
        run_config={
            # The run is in the event log and the UI; the terminal only needs problems.
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            "ops": {"batch_manifest": {"config": {"rebuild": rebuild}}},
        },
    )
    if not result.success:
        raise RuntimeError("building the manifest failed; see the run in the Dagster UI")


def print_summary(
    instance: dg.DagsterInstance,
    path: Path,
    keys: Sequence[str],
    *,
    source_errors: Sequence[SourceError] = (),
    backfill_id: str | None = None,
    outputs: Path | None = None,
    stream: TextIO = sys.stdout,
) -> int:
    """Print totals by stage of the files ``keys`` and every one not done, with the reason.

    Returns how many of them did not end succeeded, cached or not applicable. ``path`` is the
    manifest ``batch_manifest`` writes; it is built first if missing. ``outputs`` is the local
    output folder, named at the end (None: outputs are wherever the hosted service keeps them).
    """
    if not path.is_file():
        build_manifest(instance)
    wanted = list(dict.fromkeys(keys))
    stream.write(render(read_summary(path, wanted), "table") + "\n")
    # The first failed stage in pipeline order is the cause; later ones only say "upstream".
    failed = query(
        path,
        f"SELECT partition_key, source_uri, first(stage ORDER BY {STAGE_ORDER_SQL}) AS stage, "
        f"first(error_kind ORDER BY {STAGE_ORDER_SQL}) AS error_kind, "
        f"first(error_message ORDER BY {STAGE_ORDER_SQL}) AS error_message "
        f"FROM {TABLE} WHERE status = 'failed' AND partition_key IN (SELECT unnest($keys)) "
        "GROUP BY partition_key, source_uri ORDER BY partition_key",
        {"keys": wanted},
    )
    if failed:
        stream.write(f"\n{len(failed)} file(s) failed:\n")
        for row in failed:
            stream.write(
                f"  {row['source_uri']} [{row['partition_key']}]\n"
                f"    {row['stage']}: {row['error_kind']}: {row['error_message']}\n"
            )
    failed_keys = {row["partition_key"] for row in failed}
    pending = [
        row
        for row in query(
            path,
            f"SELECT partition_key, source_uri, list(stage ORDER BY {STAGE_ORDER_SQL}) AS stages "
            f"FROM {TABLE} WHERE status = 'pending' AND partition_key IN (SELECT unnest($keys)) "
            "GROUP BY partition_key, source_uri ORDER BY partition_key",
            {"keys": wanted},
        )
        if row["partition_key"] not in failed_keys
    ]
    if pending:
        reasons = unfinished_run_reasons(instance, backfill_id) if backfill_id else {}
        stream.write(f"\n{len(pending)} file(s) not processed:\n")
        for row in pending:
            reason = reasons.get(row["partition_key"], "no run processed it")
            stream.write(
                f"  {row['source_uri']} [{row['partition_key']}]\n"
                f"    {', '.join(row['stages'])} pending: {reason}\n"
            )
    if source_errors:
        stream.write(f"\n{len(source_errors)} source(s) could not be used:\n")
        for error in source_errors:
            stream.write(f"  {error.source}: {error.reason}\n")
    stream.write("\n")
    if outputs is not None:
        stream.write(f"outputs: {outputs} (one folder per stage, then per file)\n")
    stream.write(f"manifest: {path}\n")
    return len(failed) + len(pending)


def unfinished_run_reasons(instance: dg.DagsterInstance, backfill_id: str) -> dict[str, str]:
    """Per partition key of a backfill, why the last run that held it did not finish it."""
    order = {key: index for index, key in enumerate(instance.get_dynamic_partitions(MEDIA_FILES))}
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    reasons: dict[str, str] = {}
    # Oldest first, so a retry's outcome replaces its parent's.
    for run in sorted(runs, key=lambda run: run.run_id and _created(instance, run.run_id)):
        first = run.tags.get(RANGE_START_TAG) or run.tags.get("dagster/partition")
        last = run.tags.get(RANGE_END_TAG) or first
        if first not in order or last not in order:
            continue
        if run.status == dg.DagsterRunStatus.SUCCESS:
            reason = ""
        else:
            reason = f"its run {run.run_id} ended {run.status.value.lower()}"
            message = _failure_message(instance, run.run_id)
            if message:
                reason += f": {message}"
        for key, index in order.items():
            if order[first] <= index <= order[last]:
                reasons[key] = reason
    return {key: reason for key, reason in reasons.items() if reason}


def _created(instance: dg.DagsterInstance, run_id: str) -> float:
    record = instance.get_run_record_by_id(run_id)
    return record.create_timestamp.timestamp() if record is not None else 0.0


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    if not events:
        return ""
    text = events[-1].message or ""
    return text.strip().splitlines()[0][:300] if text.strip() else ""
