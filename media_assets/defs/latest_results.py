"""The latest recorded result of each (stage, file), read from Dagster's event log.

Successes (and not-applicable stages) are materializations, failures are observations: a failed
stage must not count as materialized. Both carry a ``MediaResult`` in their metadata, and the
newer of the two per partition is the current state of that stage for that file. Everything that
asks "where does this file stand" reads it here: the pipeline (what to reuse), the manifest,
``status``, ``run --failed-only`` and the progress bar.

Each output's asset check (``OUTPUT_CHECK``) is evaluated after its result is recorded; the
latest evaluation per partition is read here too (``latest_check_marks``), and it speaks of the
result only when it is newer than it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from media_assets.engine.chain import PriorResult
from media_assets.engine.stages import MediaFacts
from media_assets.instance.check_records import check_descriptions
from media_assets.instance.stored_events import read_stored_metadata
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

# The asset check every stage's output gets (see ``media_assets.defs.output_checks``).
OUTPUT_CHECK = "output_valid"

_FETCH_CHUNK = 500
_RESULT_EVENTS = (
    (dg.DagsterEventType.ASSET_MATERIALIZATION, False),
    (dg.DagsterEventType.ASSET_OBSERVATION, True),
)


@dataclass(frozen=True)
class ResultMark:
    """Where the latest result of one (stage, file) is stored, and whether it is a failure."""

    storage_id: int
    failed: bool


def latest_marks(
    instance: dg.DagsterInstance,
    stage: Stage,
    keys: Iterable[str] | None = None,
    *,
    after_storage_id: int | None = None,
) -> dict[str, ResultMark]:
    """Per partition key, the newest result event of ``stage`` (after ``after_storage_id``).

    Cheap: reads storage ids only, never event bodies. ``keys=None`` means every partition.
    """
    wanted = set(keys) if keys is not None else None
    if wanted is not None and not wanted:
        return {}
    storage = instance.event_log_storage
    asset_key = dg.AssetKey(str(stage))
    marks: dict[str, ResultMark] = {}
    for event_type, failed in _RESULT_EVENTS:
        ids = storage.get_latest_storage_id_by_partition(
            asset_key, event_type, wanted, after_cursor=after_storage_id
        )
        for partition, storage_id in ids.items():
            if partition not in marks or marks[partition].storage_id < storage_id:
                marks[partition] = ResultMark(storage_id, failed)
    return marks


def latest_metadata(
    instance: dg.DagsterInstance, stage: Stage, keys: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per partition key, the metadata of the latest recorded result of ``stage``."""
    return metadata_at(instance, stage, latest_marks(instance, stage, keys))


def metadata_at(
    instance: dg.DagsterInstance, stage: Stage, marks: Mapping[str, ResultMark]
) -> dict[str, dict[str, Any]]:
    """Per partition key, the metadata of the result of ``stage`` stored at its mark."""
    asset_key = dg.AssetKey(str(stage))
    result: dict[str, dict[str, Any]] = {}
    for failed in (False, True):
        ids = [mark.storage_id for mark in marks.values() if mark.failed is failed]
        for partition, metadata in _read(instance, asset_key, ids, materializations=not failed):
            # Observations not written by the pipeline carry no status and are not results.
            if not failed or "status" in metadata:
                result[partition] = metadata
    return result


def media_result(metadata: dict[str, Any]) -> MediaResult | None:
    """The result recorded in ``metadata``; None if not the pipeline (or an old one) wrote it.

    The output URL is recorded as ``dagster/uri`` (earlier as ``output_url``), times as
    timestamps in seconds (earlier as Unix milliseconds); results carry milliseconds.
    """
    values = dict(metadata)
    if "dagster/uri" in values:
        values.setdefault("output_url", values["dagster/uri"])
    for name in ("created_at", "completed_at"):
        value = values.get(name)
        if isinstance(value, float):
            values[name] = round(value * 1000)
    try:
        return MediaResult.from_metadata(values)
    except (KeyError, ValueError, TypeError):
        return None


def latest_results(
    instance: dg.DagsterInstance, stage: Stage, keys: Sequence[str] | None = None
) -> dict[str, MediaResult]:
    """Per partition key, the latest recorded ``MediaResult`` of ``stage``."""
    results: dict[str, MediaResult] = {}
    for key, metadata in latest_metadata(instance, stage, keys).items():
        result = media_result(metadata)
        if result is not None:
            results[key] = result
    return results


def unfinished_keys(
    instance: dg.DagsterInstance, keys: Sequence[str], stages: Sequence[Stage] = ALL_STAGES
) -> list[str]:
    """The keys, in order, with a stage of ``stages`` that failed or has no result yet."""
    unfinished: set[str] = set()
    for stage in stages:
        recorded = latest_results(instance, stage, keys)
        for key in keys:
            result = recorded.get(key)
            if result is None or result.status in (ResultStatus.FAILED, ResultStatus.PENDING):
                unfinished.add(key)
    return [key for key in keys if key in unfinished]


def prior_results(
    instance: dg.DagsterInstance, stages: Iterable[Stage], keys: Sequence[str]
) -> dict[str, dict[Stage, PriorResult]]:
    """Per key and stage, the latest recorded result in the form the engine reuses."""
    priors: dict[str, dict[Stage, PriorResult]] = {}
    for stage in stages:
        for key, metadata in latest_metadata(instance, stage, keys).items():
            result = media_result(metadata)
            if result is None:
                continue
            priors.setdefault(key, {})[stage] = PriorResult(
                result=result,
                source_version=_str_or_none(metadata.get("source_version")),
                options_hash=_str_or_none(metadata.get("options_hash")),
                generation=int(metadata.get("generation") or 0),
                facts=MediaFacts.from_metadata(metadata),
                options=metadata["options"] if isinstance(metadata.get("options"), dict) else None,
            )
    return priors


@dataclass(frozen=True)
class CheckMark:
    """The latest output check of one (stage, file): where it is stored and what it said.

    ``passed`` is None while the check is planned but not evaluated.
    """

    storage_id: int
    passed: bool | None


def latest_check_marks(
    instance: dg.DagsterInstance, stage: Stage, *, after_storage_id: int | None = None
) -> dict[str, CheckMark]:
    """Per partition key, the latest output check of ``stage`` (changed after the storage id).

    Besides checks evaluated after ``after_storage_id``, this includes partitions materialized
    since then, whatever their check: a newer result makes an older check moot.
    """
    key = dg.AssetCheckKey(dg.AssetKey(str(stage)), OUTPUT_CHECK)
    marks: dict[str, CheckMark] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(
        [key], after_storage_id=after_storage_id
    ):
        if info.partition_key is None:
            continue
        status = info.latest_execution_status.value
        passed = {"SUCCEEDED": True, "FAILED": False}.get(status)
        marks[info.partition_key] = CheckMark(info.latest_check_event_storage_id, passed)
    return marks


def check_messages(instance: dg.DagsterInstance, marks: Iterable[CheckMark]) -> dict[int, str]:
    """Per storage id of a failed check, what it said was wrong."""
    ids = [mark.storage_id for mark in marks if mark.passed is False]
    return {
        storage_id: text
        for storage_id, text in check_descriptions(instance, ids).items()
        if text is not None
    }


def _read(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, ids: list[int], *, materializations: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    unread = set(ids)
    for storage_id, found in read_stored_metadata(instance, ids):
        if found is not None:
            unread.discard(storage_id)
            yield found
    yield from _read_records(instance, asset_key, sorted(unread), materializations)


def _read_records(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, ids: list[int], materializations: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The regular way: Dagster's own records, for whatever the fast reader left."""
    fetch = instance.fetch_materializations if materializations else instance.fetch_observations
    for start in range(0, len(ids), _FETCH_CHUNK):
        chunk = ids[start : start + _FETCH_CHUNK]
        records = fetch(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=chunk), limit=len(chunk)
        )
        for record in records.records:
            event = record.asset_materialization if materializations else record.asset_observation
            if event is None or event.partition is None:
                continue
            yield event.partition, {name: value.value for name, value in event.metadata.items()}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
