"""The progress line's reader: files done, succeeded and failed since the launch."""

import dagster as dg

from media_assets.cli.backfill import ProgressReader, latest_storage_id
from media_assets.results import Stage

STAGES = [Stage.INGESTED, Stage.THUMBNAIL]


def succeed(instance: dg.DagsterInstance, key: str, stage: Stage) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=str(stage), partition=key, metadata={"status": "ok"})
    )


def fail(instance: dg.DagsterInstance, key: str, stage: Stage) -> None:
    instance.report_runless_asset_event(
        dg.AssetObservation(asset_key=str(stage), partition=key, metadata={"status": "failed"})
    )


def test_file_is_done_when_every_stage_has_a_result(instance: dg.DagsterInstance) -> None:
    """A file counts once all selected stages have a result, read across polls."""
    reader = ProgressReader(instance, "nobackfill", {"a.mp4", "b.mp4"}, STAGES, 0)
    succeed(instance, "a.mp4", Stage.INGESTED)
    first = reader.read()
    assert (first.done, first.files) == (0, 2)
    succeed(instance, "a.mp4", Stage.THUMBNAIL)
    fail(instance, "b.mp4", Stage.INGESTED)
    fail(instance, "b.mp4", Stage.THUMBNAIL)
    second = reader.read()
    assert (second.done, second.succeeded, second.failed) == (2, 1, 1)


def test_latest_result_of_a_stage_decides(instance: dg.DagsterInstance) -> None:
    """A stage that failed and then succeeded within the watch counts as succeeded."""
    reader = ProgressReader(instance, "nobackfill", {"a.mp4"}, STAGES, 0)
    fail(instance, "a.mp4", Stage.INGESTED)
    reader.read()
    succeed(instance, "a.mp4", Stage.INGESTED)
    succeed(instance, "a.mp4", Stage.THUMBNAIL)
    progress = reader.read()
    assert (progress.done, progress.succeeded, progress.failed) == (1, 1, 0)


def test_results_before_the_launch_and_other_files_are_ignored(
    instance: dg.DagsterInstance,
) -> None:
    """Only events after the cursor, for the watched files, count."""
    for stage in STAGES:
        succeed(instance, "a.mp4", stage)
    cursor = latest_storage_id(instance)
    reader = ProgressReader(instance, "nobackfill", {"a.mp4"}, STAGES, cursor)
    for stage in STAGES:
        succeed(instance, "other.mp4", stage)
    assert reader.read().done == 0
    succeed(instance, "a.mp4", Stage.INGESTED)
    succeed(instance, "a.mp4", Stage.THUMBNAIL)
    assert reader.read().done == 1
