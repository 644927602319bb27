"""Asset check evaluations of partitions: which materialization they judged, what they said.

The pipeline checks each output as it lands, in a step that may carry a thousand partitions, so
it yields ``AssetCheckEvaluation`` events itself. Dagster's ``AssetCheckResult`` fills in the
materialization a check judged only for a step with one partition, and the record type for that
pointer is not exported; without it the UI takes a partition's check to be about an older
materialization and shows it as missing. ``target_of_latest_materialization`` builds it.

The manifest reads the description of the latest evaluation of every failed check. Like
``stored_events``, it parses the stored JSON (with orjson) and reads what it does not recognise
through Dagster's records. The sensor that keeps the manifest current asks for the newest check
event, one aggregate over the check executions table (the public per-partition query joins every
partition's latest materialization, too much for a tick every few seconds).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import orjson
import sqlalchemy as sa
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

_CHUNK = 500


def target_of_latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """A pointer to the latest materialization of ``partition``, for a check evaluation."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    latest = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp
    )


def check_descriptions(
    instance: dg.DagsterInstance, storage_ids: Sequence[int]
) -> dict[int, str | None]:
    """Per storage id of a check evaluation event, the description it carried."""
    found: dict[int, str | None] = {}
    storage = instance.event_log_storage
    if isinstance(storage, SqlEventLogStorage):
        table = SqlEventLogStorageTable
        for start in range(0, len(storage_ids), _CHUNK):
            chunk = storage_ids[start : start + _CHUNK]
            with storage.index_connection() as conn:
                rows = conn.execute(
                    sa.select(table.c.id, table.c.event).where(table.c.id.in_(chunk))
                ).fetchall()
            for storage_id, text in rows:
                known, description = _description(text)
                if known:
                    found[int(storage_id)] = description
    unread = [storage_id for storage_id in storage_ids if storage_id not in found]
    for start in range(0, len(unread), _CHUNK):
        chunk = unread[start : start + _CHUNK]
        records = instance.get_event_records(
            dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION, storage_ids=chunk),
            limit=len(chunk),
        )
        for record in records:
            event = record.event_log_entry.dagster_event
            if event is not None:
                found[record.storage_id] = event.asset_check_evaluation_data.description
    return found


def _description(text: str) -> tuple[bool, str | None]:
    """Whether the text is a stored evaluation in the known form, and its description."""
    try:
        data = orjson.loads(text)["dagster_event"]["event_specific_data"]
        if data["__class__"] != "AssetCheckEvaluation":
            return False, None
        description = data.get("description")
    except (ValueError, KeyError, TypeError):
        return False, None
    return True, description if isinstance(description, str) else None


def newest_check_event_id(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]
) -> int | None:
    """The storage id of the newest event (planned or evaluated) of any of ``check_keys``."""
    storage = instance.event_log_storage
    if isinstance(storage, SqlEventLogStorage):
        table = AssetCheckExecutionsTable
        clauses = [
            sa.and_(table.c.asset_key == key.asset_key.to_string(), table.c.check_name == key.name)
            for key in check_keys
        ]
        with storage.index_connection() as conn:
            row = conn.execute(
                sa.select(sa.func.max(table.c.evaluation_event_storage_id)).where(sa.or_(*clauses))
            ).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else None
    infos = storage.get_asset_check_partition_info(list(check_keys))
    return max((info.latest_check_event_storage_id for info in infos), default=None)
