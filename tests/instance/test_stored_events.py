"""Reading stored event metadata straight from the event log's JSON."""

from typing import Any

import dagster as dg

from media_assets.defs.latest_results import latest_metadata
from media_assets.instance.stored_events import partition_and_metadata, read_stored_metadata
from media_assets.results import Stage

EVERY_KIND: dict[str, Any] = {
    "text": "succeeded",
    "int": 2500,
    "float": 12.5,
    "bool": True,
    "none": None,
    "json": {"sizes": [640, 1280], "nested": {"a": "b"}},
    "url": dg.MetadataValue.url("http://127.0.0.1:8787/files/job_1/clip.webp"),
    "path": dg.MetadataValue.path("/library/a.mp4"),
    "markdown": dg.MetadataValue.md("![thumbnail](http://127.0.0.1:8787/files/job_1/clip.webp)"),
    "timestamp": dg.MetadataValue.timestamp(1_796_150_332.983),
}

# A metadata kind the fast reader does not know.
A_TABLE = dg.MetadataValue.table(
    records=[dg.TableRecord({"n": 1})],
    schema=dg.TableSchema(columns=[dg.TableColumn("n", "int")]),
)


def stored_ids(instance: dg.DagsterInstance, asset: str) -> list[int]:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
    observed = instance.fetch_observations(dg.AssetKey(asset), limit=100).records
    return [record.storage_id for record in [*records, *observed]]


def dagster_values(instance: dg.DagsterInstance, asset: str) -> dict[str, dict[str, Any]]:
    """What Dagster's own deserialization gives, per partition."""
    found: dict[str, dict[str, Any]] = {}
    for fetch in (instance.fetch_materializations, instance.fetch_observations):
        for record in fetch(dg.AssetKey(asset), limit=100).records:
            event = record.asset_event
            assert isinstance(event, dg.AssetMaterialization | dg.AssetObservation)
            assert event.partition is not None
            found[event.partition] = {name: value.value for name, value in event.metadata.items()}
    return found


def test_materialization_metadata_matches_dagster(instance: dg.DagsterInstance) -> None:
    """Every metadata kind the pipeline writes reads back as Dagster's own values."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="thumbnail", partition="a.mp4", metadata=EVERY_KIND)
    )
    fast = dict(
        found for _, found in read_stored_metadata(instance, stored_ids(instance, "thumbnail"))
    )
    assert fast == dagster_values(instance, "thumbnail")
    assert fast["a.mp4"]["json"] == {"sizes": [640, 1280], "nested": {"a": "b"}}


def test_observation_metadata_matches_dagster(instance: dg.DagsterInstance) -> None:
    """A failure observation reads back as Dagster's own values."""
    instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key="audio",
            partition="b.mp4",
            metadata={"status": "failed", "error_message": "b.mp4: no audio", "attempts": 3},
        )
    )
    fast = dict(found for _, found in read_stored_metadata(instance, stored_ids(instance, "audio")))
    assert fast == dagster_values(instance, "audio")


def test_unknown_metadata_is_left_to_dagster(instance: dg.DagsterInstance) -> None:
    """An event with a metadata kind the reader does not know comes back as None."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="ingested", partition="c.mp4", metadata={"t": A_TABLE})
    )
    ids = stored_ids(instance, "ingested")
    assert [found for _, found in read_stored_metadata(instance, ids)] == [None]


def test_latest_metadata_falls_back_for_unknown_events(instance: dg.DagsterInstance) -> None:
    """latest_metadata still returns events the fast reader cannot read, via Dagster."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="ingested", partition="c.mp4", metadata={"status": "succeeded", "t": A_TABLE}
        )
    )
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="ingested", partition="d.mp4", metadata={"status": "succeeded"}
        )
    )
    found = latest_metadata(instance, Stage.INGESTED)
    assert set(found) == {"c.mp4", "d.mp4"}
    assert found["c.mp4"]["status"] == "succeeded"
    assert found["c.mp4"]["t"].records[0].data == {"n": 1}


def test_not_an_asset_event_is_none() -> None:
    """Text that is not a stored materialization or observation is not guessed at."""
    assert partition_and_metadata("not json") is None
    assert partition_and_metadata('{"dagster_event": {"event_specific_data": {}}}') is None
