"""Building the manifest from the CLI and printing what happened."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import dagster as dg

from media_assets.defs.batch_manifest import batch_manifest
from media_assets.manifest.queries import of_keys, query, read_summary, render
from media_assets.manifest.schema import STAGE_ORDER_SQL
from media_assets.sources import SourceError


def build_manifest(instance: dg.DagsterInstance) -> None:
    """Materialize ``batch_manifest`` (its only writer) against ``instance``."""
    result = dg.materialize(
        [batch_manifest],
        instance=instance,
        raise_on_error=False,
        # The run is in the event log and the UI; the terminal only needs problems.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        raise RuntimeError("building the manifest failed; see the run in the Dagster UI")


def print_summary(
    instance: dg.DagsterInstance,
    path: Path,
    *,
    keys: Sequence[str] | None = None,
    source_errors: Sequence[SourceError] = (),
    stream: TextIO = sys.stdout,
) -> int:
    """Print totals by stage and every failed file with its reason; returns the failed files.

    ``path`` is the manifest ``batch_manifest`` writes; it is built first if missing. ``keys``
    limits the report to those files (the manifest holds every file of the instance).
    """
    if not path.is_file():
        build_manifest(instance)
    stream.write(render(read_summary(path, keys), "table") + "\n")
    source = "media_results" if keys is None else f"({of_keys('*')})"
    # The first failed stage in pipeline order is the cause; later ones only say "upstream".
    failed = query(
        path,
        f"SELECT partition_key, source_uri, first(stage ORDER BY {STAGE_ORDER_SQL}) AS stage, "
        f"first(error_kind ORDER BY {STAGE_ORDER_SQL}) AS error_kind, "
        f"first(error_message ORDER BY {STAGE_ORDER_SQL}) AS error_message "
        f"FROM {source} WHERE status = 'failed' "
        "GROUP BY partition_key, source_uri ORDER BY partition_key",
        None if keys is None else [list(keys)],
    )
    if failed:
        stream.write(f"\n{len(failed)} file(s) failed:\n")
        for row in failed:
            stream.write(
                f"  {row['source_uri']} [{row['partition_key']}]\n"
                f"    {row['stage']}: {row['error_kind']}: {row['error_message']}\n"
            )
    if source_errors:
        stream.write(f"\n{len(source_errors)} source(s) could not be used:\n")
        for error in source_errors:
            stream.write(f"  {error.source}: {error.reason}\n")
    stream.write(f"\nmanifest: {path}\n")
    return len(failed)
