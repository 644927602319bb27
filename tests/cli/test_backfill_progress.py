"""The progress line's reader: files done, succeeded and failed since the launch."""

import time
from typing import Any

import dagster as dg
import sqlalchemy as sa
from dagster._core.events import DagsterEvent, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable

from media_assets.cli.backfill import ProgressReader, latest_storage_id
from media_assets.results import Stage
from media_assets.settings import sqlalchemy_postgres_url

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


def test_event_committed_after_a_later_one_is_not_missed(postgres_url: str) -> None:
    """On PostgreSQL a result whose id is older than one already read still counts."""
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": sqlalchemy_postgres_url(postgres_url)}}}
    ) as instance:
        reader = ProgressReader(instance, "nobackfill", {"early.mp4", "late.mp4"}, STAGES[:1], 0)
        storage: Any = instance.event_log_storage
        slow_writer = sa.create_engine(sqlalchemy_postgres_url(postgres_url))
        try:
            with slow_writer.begin() as transaction:
                # Drawn from the sequence first, committed last.
                row = storage._event_to_row(runless_entry("early.mp4", Stage.INGESTED))
                transaction.execute(SqlEventLogStorageTable.insert(), row)
                succeed(instance, "late.mp4", Stage.INGESTED)
                assert reader.read().done == 1
            assert reader.read().done == 2
        finally:
            slow_writer.dispose()


def runless_entry(key: str, stage: Stage) -> EventLogEntry:
    """The entry report_runless_asset_event stores for a materialization of ``key``."""
    materialization = dg.AssetMaterialization(asset_key=str(stage), partition=key)
    return EventLogEntry(
        user_message="",
        level=20,
        job_name=RUNLESS_JOB_NAME,
        run_id=RUNLESS_RUN_ID,
        error_info=None,
        timestamp=time.time(),
        step_key=None,
        dagster_event=DagsterEvent(
            event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value,
            event_specific_data=StepMaterializationData(materialization),
            job_name=RUNLESS_JOB_NAME,
        ),
    )
