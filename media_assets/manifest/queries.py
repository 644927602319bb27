"""Reading the manifest (read-only connections) and rendering rows for the terminal.

The manifest is a plain DuckDB file: ``media-assets query "SQL"`` runs a statement on it, and so
does any DuckDB client (the Python package is installed; a ``duckdb`` shell works too if you
have one). Useful queries:

.. code-block:: sql

    -- Totals per stage and overall
    SELECT * FROM batch_summary;

    -- Completion rate per stage and overall
    SELECT stage, done, total, percent FROM completion_rate;

    -- Status breakdown with percentages
    SELECT status, count(*) AS total,
           round(count(*) * 100.0 / sum(count(*)) OVER (), 1) AS pct
    FROM media_results GROUP BY status ORDER BY total DESC;

    -- Average processing time by kind (seconds), with percentiles
    SELECT kind, stage, results, avg_seconds, p50_ms, p95_ms FROM avg_processing_time_by_kind;

    -- Failed files and why
    SELECT partition_key, stage, error_kind, error_message, source_uri
    FROM media_results WHERE status = 'failed' ORDER BY partition_key, stage;

    -- Stages that re-used an earlier result instead of creating a remote job
    SELECT stage, count(*) FROM media_results WHERE cached GROUP BY stage;

    -- Outputs whose check failed, and why
    SELECT partition_key, stage, check_message, output_path
    FROM media_results WHERE check_status = 'failed';

    -- Slowest transcodes
    SELECT partition_key, processing_ms / 1000.0 AS seconds, width, height
    FROM media_results WHERE stage = 'transcoded' AND status = 'succeeded'
    ORDER BY processing_ms DESC LIMIT 10;
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb

from media_assets.manifest.schema import STAGE_ORDER_SQL, TABLE, summary_query

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")
# A column of a table narrower than its content keeps at least this many characters.
_MIN_COLUMN = 12
# In `manifest --format table`, the columns cut to fit a terminal before the others.
OVERVIEW_CUT_FIRST = ("output", "note")


def query(
    path: Path, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run one query on a read-only connection; rows as dicts keyed by column name."""
    if not path.is_file():
        raise FileNotFoundError(f"no manifest at {path} (build it by materializing batch_manifest)")
    conn = duckdb.connect(str(path), read_only=True)
    try:
        cursor = conn.execute(sql, parameters)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()


def read_summary(path: Path, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The ``batch_summary`` view: per stage, then the overall row; of ``keys`` only if given.

    A manifest holds every file of the instance (on a shared database, other machines' libraries
    too); ``keys`` narrows the totals to some files, e.g. the ones a command was given.
    """
    if keys is None:
        return query(path, "SELECT * FROM batch_summary")
    return query(path, summary_query(f"({of_keys('*')})"), [list(keys)])


def of_keys(columns: str) -> str:
    """``SELECT columns`` of the results whose partition key is in the list parameter ``?``."""
    return f"SELECT {columns} FROM {TABLE} WHERE list_contains(?::VARCHAR[], partition_key)"


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every ``media_results`` row, by partition key then pipeline stage order."""
    return query(path, f"SELECT * FROM {TABLE} ORDER BY partition_key, {STAGE_ORDER_SQL}")


def overview(rows: Sequence[dict[str, Any]], outputs: Path | None) -> list[dict[str, Any]]:
    """``media_results`` rows cut to what a terminal table shows, one line per (file, stage).

    An output in its place under ``outputs`` (``<stage>/<partition key>/``, named once above the
    table) shows as its file name; ``note`` is why a stage failed, why its check failed, or why it
    does not apply.
    """
    shown = []
    for row in rows:
        size = f"{row['width']}x{row['height']}" if row.get("width") and row.get("height") else None
        seconds = round(row["duration_s"], 2) if row.get("duration_s") is not None else None
        output = row.get("output_path") or row.get("output_url")
        if output and outputs is not None and row.get("output_path"):
            path = Path(str(output))
            if path.parent == outputs / row["stage"] / row["partition_key"]:
                output = path.name  # the folder is the row's stage and file
        note = row.get("error_message") or row.get("check_message")
        shown.append(
            {
                "partition_key": row["partition_key"],
                "stage": row["stage"],
                "status": row["status"],
                "size": size,
                "seconds": seconds,
                "check": row.get("check_status"),
                "output": output,
                "note": note,
            }
        )
    return shown


def render(
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    *,
    columns: Sequence[str] | None = None,
    width: int | None = None,
    cut_first: Sequence[str] = (),
) -> str:
    """Rows as an aligned text table, a JSON array, or CSV with a header line.

    Columns default to the first row's keys; timestamps are ISO 8601 in UTC. A table wider than
    ``width`` has its widest text columns cut (ending in "…") until it fits, those named in
    ``cut_first`` before any other.
    """
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt == "json":
        return json.dumps(
            [{name: _plain(row.get(name)) for name in names} for row in rows],
            indent=2,
            ensure_ascii=False,
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if names:
            writer.writerow(names)
        writer.writerows([_text(row.get(name)) for name in names] for row in rows)
        return buffer.getvalue()
    if fmt == "table":
        return _table(rows, names, width, cut_first)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _table(
    rows: Sequence[dict[str, Any]], names: list[str], width: int | None, cut_first: Sequence[str]
) -> str:
    if not names:
        return "(no rows)"
    cells = [[_text(row.get(name)).replace("\n", " ") for name in names] for row in rows]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(names)]
    numeric = [_is_numeric_column(rows, name) for name in names]
    if width is not None:
        first = [i for i, name in enumerate(names) if name in cut_first]
        widths = _fit(widths, numeric, width, first)
        cells = [[_cut(value, w) for value, w in zip(line, widths, strict=True)] for line in cells]
        names = [name[:w] for name, w in zip(names, widths, strict=True)]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ).rstrip()

    output = [line(names), line(["-" * width for width in widths])]
    output.extend(line(values) for values in cells)
    if not rows:
        output.append("(no rows)")
    return "\n".join(output)


def _fit(widths: list[int], numeric: list[bool], width: int, first: list[int]) -> list[int]:
    """Column widths whose table (two spaces between columns) is at most ``width`` wide.

    The widest text column gives way first (among ``first`` while one of them can), never below
    ``_MIN_COLUMN`` characters.
    """
    fitted = list(widths)
    while (excess := sum(fitted) + 2 * (len(fitted) - 1) - width) > 0:
        text = [i for i, w in enumerate(fitted) if not numeric[i] and w > _MIN_COLUMN]
        text = [i for i in text if i in first] or text
        if not text:
            break
        widest = max(text, key=lambda i: fitted[i])
        # Down to the next widest column at most, so the cuts are shared out.
        next_widest = max([fitted[i] for i in text if i != widest], default=_MIN_COLUMN)
        target = max(_MIN_COLUMN, fitted[widest] - excess, next_widest)
        fitted[widest] = target if target < fitted[widest] else fitted[widest] - 1
    return fitted


def _cut(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _is_numeric_column(rows: Sequence[dict[str, Any]], name: str) -> bool:
    values = [row.get(name) for row in rows if row.get(name) is not None]
    return bool(values) and all(
        isinstance(value, int | float | Decimal) and not isinstance(value, bool) for value in values
    )


def _plain(value: Any) -> Any:
    """A JSON-ready value."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _text(value: Any) -> str:
    """A cell for text output; NULL is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    plain = _plain(value)
    return plain if isinstance(plain, str) else str(plain)
