"""DuckDB schema of the manifest: table ``media_results`` and the views built on it.

``media_results`` holds one row per (partition_key, stage) with the contract's columns in order
(``cached``: the stage re-used an earlier result for the same source version and options;
``check_status``/``check_message``: the output's asset check, ``passed`` | ``failed`` | NULL and why
it failed), then columns added after the contract's: ``output_path`` (the output file on this
machine, when it is here) and ``delivered_to`` (the ``s3://`` destination the output was
delivered to, with ``MEDIA_ASSETS_OUTPUT_URI``; else NULL).
``created_at`` and ``completed_at`` are UTC ``TIMESTAMP``s (the records carry Unix milliseconds).

``manifest_state`` holds ``schema`` (the layout version; another one means a rebuild) and
``cursor`` (the newest event-log storage id the manifest has read; an update reads what is newer).

Views:

- ``batch_summary``: per stage, then an overall row (``stage = 'all'``, counting every
  (file, stage) result): ``total, succeeded, failed, not_applicable, pending``.
- ``completion_rate``: per stage and overall: ``total``, ``done`` (succeeded or not applicable:
  nothing left to do), ``failed``, ``pending``, ``percent`` (= done / total, so a failed file
  keeps a stage below 100), ``succeeded_percent`` (succeeded among the results that apply, i.e.
  not counting not-applicable stages).
- ``avg_processing_time_by_kind``: over succeeded results with a processing time, per output kind
  and stage: ``results, avg_ms, p50_ms, p95_ms, avg_seconds`` (milliseconds to 0.1).
"""

from __future__ import annotations

import dataclasses

from media_assets.results import MediaResult, Stage

TABLE = "media_results"
STATE_TABLE = "manifest_state"
# Bumped whenever the table or the views change: a manifest of another version is rebuilt.
SCHEMA_VERSION = "2"
# One column per MediaResult field, in contract order.
MANIFEST_COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(MediaResult))

COLUMN_TYPES: dict[str, str] = {
    "partition_key": "VARCHAR NOT NULL",
    "source_uri": "VARCHAR NOT NULL",
    "stage": "VARCHAR NOT NULL",
    "status": "VARCHAR NOT NULL",
    "job_id": "VARCHAR",
    "output_url": "VARCHAR",
    "kind": "VARCHAR",
    "format": "VARCHAR",
    "width": "INTEGER",
    "height": "INTEGER",
    "duration_s": "DOUBLE",
    "filesize": "BIGINT",
    "processing_ms": "BIGINT",
    "attempts": "INTEGER",
    "error_kind": "VARCHAR",
    "error_message": "VARCHAR",
    "created_at": "TIMESTAMP",
    "completed_at": "TIMESTAMP",
    "cached": "BOOLEAN NOT NULL",
    "check_status": "VARCHAR",
    "check_message": "VARCHAR",
    "output_path": "VARCHAR",
    "delivered_to": "VARCHAR",
}
if tuple(COLUMN_TYPES) != MANIFEST_COLUMNS:  # the record and the table must not drift apart
    raise RuntimeError("media_results columns must follow MediaResult's fields")

TIMESTAMP_COLUMNS = frozenset({"created_at", "completed_at"})

# Sorts stages in pipeline order, anything else (the overall row) last.
STAGE_ORDER_SQL = (
    "CASE stage "
    + " ".join(f"WHEN '{stage.value}' THEN {index}" for index, stage in enumerate(Stage))
    + " ELSE 99 END"
)

CREATE_TABLE = (
    f"CREATE TABLE {TABLE} (\n"
    + ",\n".join(f"    {name} {kind}" for name, kind in COLUMN_TYPES.items())
    + "\n)"
)


def summary_query(source: str = TABLE) -> str:
    """Totals per stage, then the overall row (``stage = 'all'``), of the rows of ``source``."""
    return f"""
WITH per_stage AS (
    SELECT
        stage,
        count(*) AS total,
        count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'not_applicable') AS not_applicable,
        count(*) FILTER (WHERE status = 'pending') AS pending
    FROM {source}
    GROUP BY stage
), overall AS (
    SELECT
        'all' AS stage,
        coalesce(sum(total), 0)::BIGINT AS total,
        coalesce(sum(succeeded), 0)::BIGINT AS succeeded,
        coalesce(sum(failed), 0)::BIGINT AS failed,
        coalesce(sum(not_applicable), 0)::BIGINT AS not_applicable,
        coalesce(sum(pending), 0)::BIGINT AS pending
    FROM per_stage
)
SELECT * FROM (SELECT * FROM per_stage UNION ALL SELECT * FROM overall)
ORDER BY {STAGE_ORDER_SQL}, stage
"""


CREATE_BATCH_SUMMARY = "CREATE VIEW batch_summary AS" + summary_query()

CREATE_COMPLETION_RATE = f"""
CREATE VIEW completion_rate AS
SELECT
    stage,
    total,
    succeeded + not_applicable AS done,
    failed,
    pending,
    CASE WHEN total = 0 THEN NULL
        ELSE round(100.0 * (succeeded + not_applicable) / total, 1) END AS percent,
    CASE WHEN total - not_applicable = 0 THEN NULL
        ELSE round(100.0 * succeeded / (total - not_applicable), 1) END AS succeeded_percent
FROM batch_summary
ORDER BY {STAGE_ORDER_SQL}, stage
"""

CREATE_AVG_PROCESSING_TIME = f"""
CREATE VIEW avg_processing_time_by_kind AS
SELECT
    kind,
    stage,
    count(*) AS results,
    round(avg(processing_ms), 1) AS avg_ms,
    round(quantile_cont(processing_ms, 0.5), 1) AS p50_ms,
    round(quantile_cont(processing_ms, 0.95), 1) AS p95_ms,
    round(avg(processing_ms) / 1000.0, 1) AS avg_seconds
FROM {TABLE}
WHERE status = 'succeeded' AND processing_ms IS NOT NULL
GROUP BY kind, stage
ORDER BY kind, {STAGE_ORDER_SQL}
"""

CREATE_STATE_TABLE = f"CREATE TABLE {STATE_TABLE} (name VARCHAR PRIMARY KEY, value VARCHAR)"

DDL: tuple[str, ...] = (
    CREATE_TABLE,
    CREATE_STATE_TABLE,
    CREATE_BATCH_SUMMARY,
    CREATE_COMPLETION_RATE,
    CREATE_AVG_PROCESSING_TIME,
)
