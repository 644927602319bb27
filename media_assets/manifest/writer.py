"""Writing the manifest: the one place that opens the DuckDB file for writing.

DuckDB allows one read-write process per file, and a reader holding the file open would block a
writer that opened it in place. So the manifest is never changed in place: a full build writes a
new file next to the target, an update copies the current file and changes the copy, and either
is atomically renamed over the target. Readers see the previous manifest or the new one, never a
half-written file, and never stand in a writer's way. Writers on this machine take turns through
a lock file beside the manifest; were two to race anyway, each renames a complete manifest with
the cursor that matches its rows, and the next update reads on from whichever cursor won.

Rows are bulk-loaded through a temporary CSV file and DuckDB's CSV reader: without pandas or
pyarrow that is the fastest path measured (``bench/scale.py``), well ahead of parameter lists or
``executemany``.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import operator
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from media_assets.manifest.schema import (
    COLUMN_TYPES,
    DDL,
    MANIFEST_COLUMNS,
    SCHEMA_VERSION,
    STATE_TABLE,
    TABLE,
    TIMESTAMP_COLUMNS,
)
from media_assets.results import ALL_STAGES, MediaResult, Stage

# Types of the staged CSV: as in the table, except timestamps still in Unix milliseconds.
_CSV_TYPES = {
    name: "BIGINT" if name in TIMESTAMP_COLUMNS else kind.removesuffix(" NOT NULL")
    for name, kind in COLUMN_TYPES.items()
}
_SELECT = ", ".join(
    f"epoch_ms({name}) AS {name}" if name in TIMESTAMP_COLUMNS else name
    for name in MANIFEST_COLUMNS
)
_CHECK_CSV_TYPES = {
    "partition_key": "VARCHAR",
    "stage": "VARCHAR",
    "check_status": "VARCHAR",
    "check_message": "VARCHAR",
}


@dataclass(frozen=True)
class ManifestSummary:
    """What was written: row and file counts and the ``batch_summary`` rows."""

    path: Path
    rows: int
    files: int
    summary: list[dict[str, Any]]
    changed_rows: int = 0  # rows an update wrote (all of them for a full build)


@dataclass(frozen=True)
class CheckUpdate:
    """A newer check verdict on an output whose row did not change."""

    partition_key: str
    stage: str
    check_status: str | None
    check_message: str | None


def read_cursor(path: Path) -> int | None:
    """The newest storage id the manifest at ``path`` has read; None when it must be rebuilt.

    None for a missing file, one of another schema version, or one that cannot be read.
    """
    if not path.is_file():
        return None
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = conn.execute(f"SELECT name, value FROM {STATE_TABLE}").fetchall()
    except duckdb.Error:
        return None
    finally:
        conn.close()
    state = {str(name): str(value) for name, value in rows}
    if state.get("schema") != SCHEMA_VERSION or "cursor" not in state:
        return None
    return int(state["cursor"])


@contextlib.contextmanager
def manifest_lock(path: Path) -> Iterator[None]:
    """Hold the lock that makes writers of the manifest at ``path`` take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_manifest(
    path: Path, results: Iterable[MediaResult], *, cursor: int = 0
) -> ManifestSummary:
    """Replace the manifest at ``path`` with these results, atomically.

    A later result for the same (partition_key, stage) replaces an earlier one, so results can be
    passed in event order. Empty strings are stored as NULL. ``cursor`` is the newest event-log
    storage id the results reflect.
    """
    latest = _latest(results)
    with _staged(path) as (staged_db, staged_csv):
        _write_csv(staged_csv, latest)
        conn = duckdb.connect(str(staged_db))
        try:
            for statement in DDL:
                conn.execute(statement)
            _insert_rows(conn, staged_csv)
            summary = _finish(conn, path, staged_db, cursor, changed=len(latest))
        finally:
            conn.close()
        _publish(staged_db, path)
    return summary


def update_manifest(
    path: Path,
    *,
    results: Iterable[MediaResult],
    checks: Sequence[CheckUpdate],
    registered: Sequence[str],
    source_uris: Callable[[Sequence[str]], Mapping[str, str]],
    cursor: int,
    stages: Sequence[Stage] = ALL_STAGES,
) -> ManifestSummary:
    """Apply what changed since the manifest's cursor to a copy of it, and rename it over it.

    ``results`` replace their rows; ``checks`` change the check columns of rows they do not
    replace; files no longer in ``registered`` lose their rows and new ones get a ``pending`` row
    per stage of ``stages`` (their source URIs from ``source_uris``). The manifest must exist
    (see ``read_cursor``).
    """
    latest = _latest(results)
    with _staged(path) as (staged_db, staged_csv):
        shutil.copyfile(path, staged_db)
        conn = duckdb.connect(str(staged_db))
        try:
            conn.execute("CREATE TEMP TABLE registered (partition_key VARCHAR PRIMARY KEY)")
            conn.execute(
                "INSERT INTO registered SELECT DISTINCT unnest($keys::VARCHAR[])",
                {"keys": list(registered)},
            )
            conn.execute(
                f"DELETE FROM {TABLE} WHERE partition_key NOT IN "
                "(SELECT partition_key FROM registered)"
            )
            known = {
                row[0]
                for row in conn.execute(f"SELECT DISTINCT partition_key FROM {TABLE}").fetchall()
            }
            changed = {(result.partition_key, result.stage.value) for result in latest}
            new_keys = [key for key in registered if key not in known]
            uris = source_uris(new_keys) if new_keys else {}
            pending = [
                MediaResult.pending(key, uris.get(key, key), stage)
                for key in new_keys
                for stage in stages
                if (key, stage.value) not in changed
            ]
            rows = [*latest, *pending]
            if rows:
                _write_csv(staged_csv, rows)
                conn.execute(
                    f"CREATE TEMP TABLE staged AS SELECT {_SELECT} FROM read_csv($path, "
                    "header = false, auto_detect = false, delim = ',', quote = '\"', "
                    "escape = '\"', new_line = '\\n', columns = $columns)",
                    {"path": str(staged_csv), "columns": _CSV_TYPES},
                )
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE (partition_key, stage) IN "
                    "(SELECT partition_key, stage FROM staged)"
                )
                conn.execute(f"INSERT INTO {TABLE} SELECT * FROM staged")
            fresh_checks = [
                check for check in checks if (check.partition_key, check.stage) not in changed
            ]
            if fresh_checks:
                _apply_checks(conn, staged_csv, fresh_checks)
            summary = _finish(conn, path, staged_db, cursor, changed=len(rows) + len(fresh_checks))
        finally:
            conn.close()
        _publish(staged_db, path)
    return summary


def _latest(results: Iterable[MediaResult]) -> list[MediaResult]:
    latest: dict[tuple[str, str], MediaResult] = {}
    for result in results:
        latest[(result.partition_key, result.stage.value)] = result
    return list(latest.values())


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[tuple[Path, Path]]:
    """A staged database and CSV beside ``path``, removed afterwards whatever happens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    staged_csv = path.with_name(f"{stem}.csv")
    staged_db = path.with_name(f"{stem}.tmp")
    try:
        yield staged_db, staged_csv
    finally:
        for leftover in (staged_csv, staged_db, staged_db.with_name(staged_db.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _publish(staged_db: Path, path: Path) -> None:
    # A WAL left by an earlier read-write session belongs to the old file; DuckDB would replay
    # it onto the new one.
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    os.replace(staged_db, path)


# Every column of a result at once; stages and statuses are str enums, written as their values.
_ROW = operator.attrgetter(*MANIFEST_COLUMNS)


def _write_csv(target: Path, results: Iterable[MediaResult]) -> None:
    with target.open("w", newline="", encoding="utf-8") as handle:
        # Plain "\n" rows: DuckDB's reader expects one newline style, and quoted fields may
        # themselves hold "\n".
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows(map(_ROW, results))


def _insert_rows(conn: duckdb.DuckDBPyConnection, staged_csv: Path) -> None:
    conn.execute(
        f"INSERT INTO {TABLE} SELECT {_SELECT} FROM read_csv($path, header = false,"
        " auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n',"
        " columns = $columns)",
        {"path": str(staged_csv), "columns": _CSV_TYPES},
    )


def _apply_checks(
    conn: duckdb.DuckDBPyConnection, staged_csv: Path, checks: Sequence[CheckUpdate]
) -> None:
    with staged_csv.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            (c.partition_key, c.stage, c.check_status, c.check_message) for c in checks
        )
    conn.execute(
        "CREATE TEMP TABLE checks AS SELECT * FROM read_csv($path, header = false,"
        " auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n',"
        " columns = $columns)",
        {"path": str(staged_csv), "columns": _CHECK_CSV_TYPES},
    )
    conn.execute(
        f"UPDATE {TABLE} SET check_status = checks.check_status, "
        "check_message = checks.check_message FROM checks "
        f"WHERE {TABLE}.partition_key = checks.partition_key AND {TABLE}.stage = checks.stage"
    )


def _finish(
    conn: duckdb.DuckDBPyConnection, path: Path, staged_db: Path, cursor: int, *, changed: int
) -> ManifestSummary:
    """Record the state, fold the WAL into the file; what the manifest now holds."""
    conn.execute(f"DELETE FROM {STATE_TABLE}")
    conn.executemany(
        f"INSERT INTO {STATE_TABLE} VALUES (?, ?)",
        [("schema", SCHEMA_VERSION), ("cursor", str(cursor))],
    )
    result = conn.execute("SELECT * FROM batch_summary")
    names = [column[0] for column in result.description or ()]
    summary = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    counted = conn.execute(
        f"SELECT count(*), count(DISTINCT partition_key) FROM {TABLE}"
    ).fetchone()
    rows, files = (int(counted[0]), int(counted[1])) if counted else (0, 0)
    # Fold the WAL into the file so the renamed file is complete on its own.
    conn.execute("CHECKPOINT")
    return ManifestSummary(path=path, rows=rows, files=files, summary=summary, changed_rows=changed)
