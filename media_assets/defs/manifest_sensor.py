"""``manifest_updates``: materializes ``batch_manifest`` whenever the event log has news for it.

Every stage result (a materialization, or a failure observation) and every output check is an
event with a storage id; the manifest remembers the newest one it has read. Each tick compares
the newest of those events with the manifest's cursor and, if there is something newer and no
update is already queued or running, requests a ``batch_manifest`` run, which applies just what
is new. So the manifest follows every materialization however it was launched (the UI, the
``new_uploads`` sensor, a backfill, ``media-assets run``), also while a long run is still going.

A run-status sensor would fire only when a run ends, an hour late for an hour-long backfill, and
an automation condition counts neither failure observations nor check verdicts as updates; this
looks at exactly what the manifest reads. A tick costs a few indexed queries and one read-only
look at the manifest file.
"""

from __future__ import annotations

import dagster as dg

from media_assets.defs.batch_manifest import MANIFEST_ASSET
from media_assets.defs.latest_results import OUTPUT_CHECK
from media_assets.instance.check_records import newest_check_event_id
from media_assets.manifest.writer import read_cursor
from media_assets.results import Stage
from media_assets.settings import load_settings

MANIFEST_RUN_TAG = "media_assets/manifest_update"
# With a run's start-up of ~5-10 s, a tick every 20 s keeps the manifest under a minute behind.
MANIFEST_SENSOR_INTERVAL_S = 20
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def newest_result_event_id(instance: dg.DagsterInstance) -> int | None:
    """The storage id of the newest stage result or output check event, if there is one."""
    newest: list[int] = []
    # Every stage there is: an optional one turned off has no events and costs one lookup.
    for stage in Stage:
        for fetch in (instance.fetch_materializations, instance.fetch_observations):
            records = fetch(dg.AssetKey(str(stage)), limit=1).records
            if records:
                newest.append(records[0].storage_id)
    checks = [dg.AssetCheckKey(dg.AssetKey(str(stage)), OUTPUT_CHECK) for stage in Stage]
    check_id = newest_check_event_id(instance, checks)
    if check_id is not None:
        newest.append(check_id)
    return max(newest, default=None)


def manifest_updates(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Request a ``batch_manifest`` run when results or checks are newer than the manifest."""
    newest = newest_result_event_id(context.instance)
    path = load_settings().manifest_path
    cursor = read_cursor(path)
    if newest is None:
        return dg.SkipReason("no stage result recorded yet")
    if cursor is not None and newest <= cursor:
        return dg.SkipReason(f"the manifest is current (it has read up to event {cursor})")
    running = context.instance.get_runs(
        filters=dg.RunsFilter(tags={MANIFEST_RUN_TAG: "sensor"}, statuses=_ACTIVE), limit=1
    )
    if running:
        return dg.SkipReason(f"an update is already under way (run {running[0].run_id})")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                asset_selection=[dg.AssetKey(MANIFEST_ASSET)],
                tags={MANIFEST_RUN_TAG: "sensor"},
            )
        ]
    )


def build_manifest_sensor() -> dg.SensorDefinition:
    """The ``manifest_updates`` sensor, on from the start."""
    return dg.sensor(
        name="manifest_updates",
        target=dg.AssetSelection.assets(MANIFEST_ASSET),
        minimum_interval_seconds=MANIFEST_SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Updates the DuckDB manifest with results and checks newer than it.",
    )(manifest_updates)
