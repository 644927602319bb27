"""Writing the manifest: the one place that opens the DuckDB file for writing.

DuckDB allows one read-write process per file, so the manifest is never updated in place: the
whole file is rebuilt next to the target and atomically renamed over it. Readers therefore see
either the previous manifest or the new one, never a half-written file, and no lock is held on
the file readers open.

Rows are bulk-loaded through a temporary CSV file and DuckDB's CSV reader: without pandas or
pyarrow that is the fastest path measured (``bench/scale.py``), well ahead of parameter lists or
``executemany``.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from media_assets.manifest.schema import (
    COLUMN_TYPES,
    DDL,
    MANIFEST_COLUMNS,
    TABLE,
    TIMESTAMP_COLUMNS,
)
from media_assets.results import MediaResult

# Types of the staged CSV: as in the table, except timestamps still in Unix milliseconds.
_CSV_TYPES = {
    name: "BIGINT" if name in TIMESTAMP_COLUMNS else kind.removesuffix(" NOT NULL")
    for name, kind in COLUMN_TYPES.items()
}
_SELECT = ", ".join(
    f"epoch_ms({name}) AS {name}" if name in TIMESTAMP_COLUMNS else name
    for name in MANIFEST_COLUMNS
)


@dataclass(frozen=True)
class ManifestSummary:
    """What was written: row and file counts and the ``batch_summary`` rows."""

    path: Path
    rows: int
    files: int
    summary: list[dict[str, Any]]


def write_manifest(path: Path, results: Iterable[MediaResult]) -> ManifestSummary:
    """Replace the manifest at ``path`` with these results, atomically.

    A later result for the same (partition_key, stage) replaces an earlier one, so results can be
    passed in event order. Empty strings are stored as NULL.
    """
    latest: dict[tuple[str, str], MediaResult] = {}
    for result in results:
        latest[(result.partition_key, result.stage.value)] = result

    path.parent.mkdir(parents=True, exist_ok=True)
    stem = f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    staged_csv = path.with_name(f"{stem}.csv")
    staged_db = path.with_name(f"{stem}.tmp")
    try:
        _write_csv(staged_csv, latest.values())
        summary, files = _build(staged_db, staged_csv)
        # A WAL left by an earlier read-write session belongs to the old file; DuckDB would
        # replay it onto the new one.
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
        os.replace(staged_db, path)
    finally:
        for leftover in (staged_csv, staged_db, staged_db.with_name(staged_db.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return ManifestSummary(path=path, rows=len(latest), files=files, summary=summary)


def _write_csv(target: Path, results: Iterable[MediaResult]) -> None:
    with target.open("w", newline="", encoding="utf-8") as handle:
        # Plain "\n" rows: DuckDB's reader expects one newline style, and quoted fields may
        # themselves hold "\n".
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows(
            (
                result.partition_key,
                result.source_uri,
                result.stage.value,
                result.status.value,
                result.job_id,
                result.output_url,
                result.kind,
                result.format,
                result.width,
                result.height,
                result.duration_s,
                result.filesize,
                result.processing_ms,
                result.attempts,
                result.error_kind,
                result.error_message,
                result.created_at,
                result.completed_at,
                result.cached,
                result.delivered_to,
            )
            for result in results
        )


def _build(database: Path, staged_csv: Path) -> tuple[list[dict[str, Any]], int]:
    conn = duckdb.connect(str(database))
    try:
        for statement in DDL:
            conn.execute(statement)
        conn.execute(
            f"INSERT INTO {TABLE} SELECT {_SELECT} FROM read_csv($path, header = false,"
            " auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n',"
            " columns = $columns)",
            {"path": str(staged_csv), "columns": _CSV_TYPES},
        )
        cursor = conn.execute("SELECT * FROM batch_summary")
        names = [column[0] for column in cursor.description or ()]
        summary = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        counted = conn.execute(f"SELECT count(DISTINCT partition_key) FROM {TABLE}").fetchone()
        files = int(counted[0]) if counted else 0
        # Fold the WAL into the file so the renamed file is complete on its own.
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return summary, files
