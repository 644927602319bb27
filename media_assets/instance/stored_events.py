"""Reading the metadata of stored asset events without rebuilding Dagster's event objects.

The manifest reads the latest event of every (stage, file): 200,000 events for a 50,000-file
library. Dagster's deserialization builds an ``EventLogEntry`` with its nested records for each;
parsing the stored JSON (with orjson) and taking just the partition and metadata is several times
faster (``bench/scale.py`` measures it).

The stored form is Dagster's backward-compatible serialization (``metadata_entries`` of
``*MetadataEntryData``), which Dagster must keep reading from old databases. Anything this reader
does not recognise comes back as ``None`` and the caller reads that event the regular way, so an
unfamiliar event is slower, never wrong.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
import orjson
import sqlalchemy as sa
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

# Per stored metadata class, the field holding what ``MetadataValue.value`` returns.
_VALUE_FIELDS: dict[str, str | None] = {
    "TextMetadataEntryData": "text",
    "IntMetadataEntryData": "value",
    "FloatMetadataEntryData": "value",
    "BoolMetadataEntryData": "value",
    "UrlMetadataEntryData": "url",
    "PathMetadataEntryData": "path",
    "MarkdownMetadataEntryData": "md_str",
    "JsonMetadataEntryData": "data",
    "TimestampMetadataValue": "value",
    "NullMetadataEntryData": None,
}
_EVENT_FIELDS = {
    "StepMaterializationData": "materialization",
    "AssetObservationData": "asset_observation",
}
_CHUNK = 500


def partition_and_metadata(text: str) -> tuple[str, dict[str, Any]] | None:
    """The partition and plain metadata values of a stored materialization or observation.

    ``None`` when the text is not in the form this reader knows.
    """
    try:
        entry = orjson.loads(text)
        data = entry["dagster_event"]["event_specific_data"]
        event = data[_EVENT_FIELDS[data["__class__"]]]
        partition = event["partition"]
        metadata: dict[str, Any] = {}
        for item in event["metadata_entries"]:
            stored = item["entry_data"]
            field = _VALUE_FIELDS[stored["__class__"]]
            metadata[item["label"]] = None if field is None else stored[field]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(partition, str):
        return None
    return partition, metadata


def read_stored_metadata(
    instance: dg.DagsterInstance, storage_ids: Sequence[int]
) -> Iterator[tuple[int, tuple[str, dict[str, Any]] | None]]:
    """Per storage id, what ``partition_and_metadata`` makes of its stored event.

    Yields nothing on an event log that is not SQL-backed: the caller reads those the regular way.
    """
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return
    table = SqlEventLogStorageTable
    for start in range(0, len(storage_ids), _CHUNK):
        chunk = storage_ids[start : start + _CHUNK]
        with storage.index_connection() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.event).where(table.c.id.in_(chunk)))
            fetched = rows.fetchall()
        for storage_id, text in fetched:
            yield int(storage_id), partition_and_metadata(text)
