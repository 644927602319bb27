"""``batch_manifest``: built from the event log, then updated with only what is new."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import dagster as dg
from pipeline_bench import PipelineBench

from media_assets.defs.batch_manifest import refresh_manifest
from media_assets.defs.manifest_sensor import MANIFEST_RUN_TAG, manifest_updates
from media_assets.manifest.queries import query, read_results
from media_assets.manifest.writer import read_cursor
from media_assets.settings import load_settings


def manifest_rows(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    return {(row["partition_key"], row["stage"]): row for row in read_results(path)}


def test_rows_carry_check_verdicts_and_outputs_that_resolve(bench: PipelineBench) -> None:
    """Each row of a made output has check_status passed, a file:// output_url that exists and
    its output_path; an audio file's thumbnail row is not applicable with its check passed."""
    keys = bench.register(["small-clip.mp4", "tone.mp3"])
    clip, tone = keys
    for key in keys:
        assert bench.materialize_one(key).success
    written = refresh_manifest(bench.instance)
    rows = manifest_rows(written.path)
    for stage in ("ingested", "thumbnail", "audio", "transcoded"):
        row = rows[(clip, stage)]
        assert (row["status"], row["check_status"], row["check_message"]) == (
            "succeeded",
            "passed",
            None,
        ), stage
        url = str(row["output_url"])
        assert url.startswith("file://") and Path(unquote(urlsplit(url).path)).is_file(), stage
        assert row["output_path"] == unquote(urlsplit(url).path)
    assert rows[(tone, "thumbnail")]["status"] == "not_applicable"


def test_a_failed_check_is_in_the_manifest_with_its_reason(bench: PipelineBench) -> None:
    """A blank thumbnail's row: succeeded, check failed, and the check's message."""
    from media_clips import make_clip

    make_clip(bench.scratch / "black.mp4", size="320x240", seconds=3, pattern="black")
    (key,) = bench.register(["black.mp4"], folder=bench.scratch)
    assert bench.materialize_one(key).success
    row = manifest_rows(refresh_manifest(bench.instance).path)[(key, "thumbnail")]
    assert (row["status"], row["check_status"]) == ("succeeded", "failed")
    assert "blank" in str(row["check_message"])


def test_an_update_reads_only_what_is_newer_than_the_manifest(bench: PipelineBench) -> None:
    """After a second file runs, the update writes that file's rows only, and the result equals
    a rebuild from the whole event log."""
    first, second = bench.register(["small-clip.mp4", "portrait-clip.mp4"])
    assert bench.materialize_one(first).success
    built = refresh_manifest(bench.instance)
    cursor = read_cursor(built.path)
    assert cursor is not None
    assert manifest_rows(built.path)[(second, "ingested")]["status"] == "pending"

    assert bench.materialize_one(second).success
    updated = refresh_manifest(bench.instance)
    assert updated.changed_rows == 4  # the second file's four stages, nothing else
    assert (read_cursor(updated.path) or 0) > cursor
    incremental = manifest_rows(updated.path)
    assert incremental[(second, "ingested")]["check_status"] == "passed"
    rebuilt = manifest_rows(refresh_manifest(bench.instance, rebuild=True).path)
    assert incremental == rebuilt


def test_nothing_new_changes_nothing(bench: PipelineBench) -> None:
    """An update with no new events writes no row and keeps the cursor."""
    (key,) = bench.register(["small-clip.mp4"])
    assert bench.materialize_one(key).success
    first = refresh_manifest(bench.instance)
    again = refresh_manifest(bench.instance)
    assert again.changed_rows == 0
    assert read_cursor(again.path) == read_cursor(first.path)
    assert query(again.path, "SELECT count(*) AS n FROM media_results")[0]["n"] == 4


def test_the_sensor_asks_for_an_update_only_when_there_is_news(bench: PipelineBench) -> None:
    """manifest_updates requests a batch_manifest run while results are newer than the
    manifest, and skips once the manifest has read them or while an update is under way."""
    (key,) = bench.register(["small-clip.mp4"])
    assert bench.materialize_one(key).success
    context = dg.build_sensor_context(instance=bench.instance)
    requested = manifest_updates(context)
    assert isinstance(requested, dg.SensorResult)
    (request,) = requested.run_requests or []
    assert request.asset_selection == [dg.AssetKey("batch_manifest")]

    refresh_manifest(bench.instance)
    assert isinstance(manifest_updates(context), dg.SkipReason)

    assert bench.materialize_one(key, selection=["thumbnail"]).success  # news again
    bench.instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB",
            run_id="0123456789abcdef0123456789abcdef",
            status=dg.DagsterRunStatus.STARTED,
            tags={MANIFEST_RUN_TAG: "sensor"},
        )
    )
    skipped = manifest_updates(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "under way" in (skipped.skip_message or "")
    assert load_settings().manifest_path.is_file()
