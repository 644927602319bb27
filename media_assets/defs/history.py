"""What the event log says about each (stage, file): the latest recorded result.

Successes are materializations, failures are observations (a failed stage must not count as
materialized); both carry a ``MediaResult`` in their metadata. The latest of the two per partition
is the current state of that stage for that file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType

from media_assets.defs.stored_events import read_stored_metadata
from media_assets.manifest.records import MediaResult, Stage
from media_assets.pipeline.chain import PriorResult
from media_assets.pipeline.stages import MediaFacts

_FETCH_CHUNK = 500


def latest_metadata(
    instance: dg.DagsterInstance, stage: Stage, keys: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per partition key, the metadata of the latest recorded result of ``stage``.

    ``keys=None`` reads every partition (the manifest); otherwise only those keys (a run).
    """
    asset_key = dg.AssetKey(str(stage))
    storage = instance.event_log_storage
    wanted = set(keys) if keys is not None else None
    if wanted is not None and not wanted:
        return {}
    latest: dict[str, tuple[int, bool]] = {}  # key -> (storage id, is a materialization)
    for event_type, is_materialization in (
        (DagsterEventType.ASSET_MATERIALIZATION, True),
        (DagsterEventType.ASSET_OBSERVATION, False),
    ):
        ids = storage.get_latest_storage_id_by_partition(asset_key, event_type, wanted)
        for partition, storage_id in ids.items():
            if partition not in latest or latest[partition][0] < storage_id:
                latest[partition] = (storage_id, is_materialization)
    materialization_ids = [sid for sid, is_mat in latest.values() if is_mat]
    observation_ids = [sid for sid, is_mat in latest.values() if not is_mat]
    result: dict[str, dict[str, Any]] = {}
    for partition, metadata in _read(instance, asset_key, materialization_ids, True):
        result[partition] = metadata
    for partition, metadata in _read(instance, asset_key, observation_ids, False):
        if "status" in metadata:  # observations not written by the pipeline are not results
            result[partition] = metadata
    return result


def _read(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, ids: list[int], materializations: bool
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


def media_result(metadata: dict[str, Any]) -> MediaResult | None:
    try:
        return MediaResult.from_metadata(metadata)
    except (KeyError, ValueError, TypeError):
        return None  # written by an older version, or not by the pipeline


def prior_results(
    instance: dg.DagsterInstance, stages: Iterable[Stage], keys: Sequence[str]
) -> dict[str, dict[Stage, PriorResult]]:
    """Per key and stage, the latest recorded result in the form the chain reuses."""
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
            )
    return priors


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
