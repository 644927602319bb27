"""The media pipeline end to end: dg.materialize against the local service's ffmpeg engine.

Media is generated with the bundled ffmpeg (see conftest), so these pass without ../shared; two
tests also run real corpus files when ../shared/corpus exists.
"""

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value
from pipeline_bench import (
    ALL_FILES,
    BROKEN_FILES,
    CORPUS,
    GOOD_FILES,
    MEDIA_PIPELINE,
    PipelineBench,
    fetch_output,
    metadata_values,
)

from media_assets.defs.batch_manifest import batch_manifest
from media_assets.defs.resources import IttybitResource
from media_assets.local_ittybit.media import probe_file
from media_assets.manifest.queries import read_results, read_summary
from media_assets.settings import load_settings

STAGES = ("ingested", "thumbnail", "audio", "transcoded")
COMMON_FIELDS = ("job_id", "dagster/uri", "kind", "format", "filesize", "processing_ms", "attempts")
# Pictures have a size, time-based media a duration; an mp3 has no width or height.
STAGE_FIELDS = {
    "ingested": ("width", "height", "duration_s"),
    "thumbnail": ("width", "height"),
    "audio": ("duration_s",),
    "transcoded": ("width", "height", "duration_s"),
}


def only_event(events: list[Any]) -> dict[str, Any]:
    assert len(events) == 1, f"expected exactly one event, got {len(events)}"
    return metadata_values(events[0])


def download(url: str, target: Path) -> Path:
    return fetch_output(url, target)


def stage_results(bench: PipelineBench, key: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The one materialization each stage recorded for ``key`` in ``run_id``, as metadata."""
    return {stage: only_event(bench.materializations(stage, key, run_id)) for stage in STAGES}


def test_single_video_partition_records_four_materializations(bench: PipelineBench) -> None:
    """One video partition → one materialization per stage on that partition, with metadata."""
    (key,) = bench.register(["wide-clip.mp4"])
    result = bench.materialize_one(key)
    assert result.success
    for stage in STAGES:
        events = bench.materializations(stage, run_id=result.run_id)
        assert len(events) == 1, f"{stage}: {len(events)} materializations"
        assert events[0].partition == key
        values = metadata_values(events[0])
        wanted = (*COMMON_FIELDS, *STAGE_FIELDS[stage])
        missing = [name for name in wanted if values.get(name) in (None, "")]
        assert not missing, f"{stage} lacks {missing}"
        assert values["status"] == "succeeded"
        assert values["stage"] == stage
        assert values["partition_key"] == key
        assert values["attempts"] == 1
        assert values["processing_ms"] >= 0
        assert values["job_id"].startswith("job_")
        assert values["cached"] is False


def test_thumbnail_has_a_markdown_preview(bench: PipelineBench) -> None:
    """The thumbnail materialization carries a markdown preview of its output image."""
    (key,) = bench.register(["small-clip.mp4"])
    result = bench.materialize_one(key)
    assert result.success
    (event,) = bench.materializations("thumbnail", key, result.run_id)
    preview = event.metadata["preview"]
    assert isinstance(preview, dg.MarkdownMetadataValue)
    served = event.metadata["output_link"]
    assert isinstance(served, dg.UrlMetadataValue)
    assert f"]({served.value})" in preview.value
    image = httpx.get(served.value, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"


def test_outputs_download_as_valid_media(bench: PipelineBench, tmp_path: Path) -> None:
    """Every output URL serves real media of the promised format and size."""
    (key,) = bench.register(["wide-clip.mp4"])  # 1600x900, wider than every default width
    result = bench.materialize_one(key)
    assert result.success
    results = stage_results(bench, key, result.run_id)

    ingested = probe_file(download(results["ingested"]["dagster/uri"], tmp_path / "ingested.mp4"))
    assert ingested["kind"] == "video"
    assert ingested["format"] == "mp4"
    assert (ingested["width"], ingested["height"]) == (1600, 900)

    transcoded = probe_file(
        download(results["transcoded"]["dagster/uri"], tmp_path / "transcoded.mp4")
    )
    assert transcoded["format"] == "mp4"
    assert transcoded["codecs"]["video"] == "h264"
    assert transcoded["width"] == 1280
    assert transcoded["height"] == 720
    assert (results["transcoded"]["width"], results["transcoded"]["height"]) == (1280, 720)

    thumbnail = probe_file(download(results["thumbnail"]["dagster/uri"], tmp_path / "thumb.webp"))
    assert thumbnail["kind"] == "image"
    assert thumbnail["format"] == "webp"
    assert thumbnail["width"] == 640
    assert results["thumbnail"]["width"] == 640

    audio = probe_file(download(results["audio"]["dagster/uri"], tmp_path / "audio.mp3"))
    assert audio["kind"] == "audio"
    assert audio["format"] == "mp3"
    assert audio["codecs"]["audio"] == "mp3"
    assert audio["duration"] == pytest.approx(2.5, abs=0.3)


def test_small_source_is_not_upscaled(bench: PipelineBench, tmp_path: Path) -> None:
    """A source narrower than 640 gets a thumbnail and transcode at its own width."""
    (key,) = bench.register(["small-clip.mp4"])  # 320x240
    result = bench.materialize_one(key)
    assert result.success
    results = stage_results(bench, key, result.run_id)
    thumbnail = probe_file(download(results["thumbnail"]["dagster/uri"], tmp_path / "thumb.webp"))
    transcoded = probe_file(download(results["transcoded"]["dagster/uri"], tmp_path / "t.mp4"))
    assert (thumbnail["format"], thumbnail["width"]) == ("webp", 320)
    assert (transcoded["codecs"]["video"], transcoded["width"]) == ("h264", 320)


def test_ranged_run_fails_naming_each_broken_file(bench: PipelineBench) -> None:
    """A ranged run with broken files fails, and its Failure names each broken file and why."""
    keys = bench.register(ALL_FILES)
    key_of = dict(zip(ALL_FILES, keys, strict=True))
    result = bench.materialize_range(keys[0], keys[-1])
    assert not result.success
    description = bench.step_failure_description(result.run_id)
    assert description.startswith(f"{len(BROKEN_FILES)} file(s) failed")
    lines = description.splitlines()[1:]
    assert len(lines) == len(BROKEN_FILES)
    for name in BROKEN_FILES:
        (line,) = [line for line in lines if key_of[name] in line]
        assert f"({(bench.library / name).as_uri()})" in line  # the source URI, readable
        assert "invalid_input" in line
    (empty_line,) = [line for line in lines if key_of["zero-bytes.mp4"] in line]
    assert "empty" in empty_line
    for name in GOOD_FILES:
        assert key_of[name] not in description


def test_ranged_run_materializes_exactly_the_good_partitions(bench: PipelineBench) -> None:
    """In a ranged run with broken files, every good file is materialized and no broken one is."""
    keys = bench.register(ALL_FILES)
    key_of = dict(zip(ALL_FILES, keys, strict=True))
    good = {key_of[name] for name in GOOD_FILES}
    broken = {key_of[name] for name in BROKEN_FILES}
    result = bench.materialize_range(keys[0], keys[-1])
    assert not result.success
    for stage in STAGES:
        events = bench.materializations(stage, run_id=result.run_id)
        by_partition = Counter(event.partition for event in events)
        assert set(by_partition) == good, stage
        assert set(by_partition.values()) == {1}, f"{stage}: duplicate materializations"
        statuses = {metadata_values(event)["status"] for event in events}
        assert statuses <= {"succeeded", "not_applicable"}, stage
    # Dagster's own per-partition status: the good ones materialized, the broken ones failed.
    partitions_def = MEDIA_PIPELINE.partitions_def
    assert partitions_def is not None
    status = get_and_update_asset_status_cache_value(
        bench.instance, dg.AssetKey("ingested"), partitions_def
    )
    assert status is not None
    materialized = status.deserialize_materialized_partition_subsets(partitions_def)
    failed = status.deserialize_failed_partition_subsets(partitions_def)
    assert set(materialized.get_partition_keys()) == good
    assert set(failed.get_partition_keys()) == broken


def test_broken_partitions_get_failed_observations(bench: PipelineBench) -> None:
    """Each broken file has a failed observation with error kind and message for every stage."""
    keys = bench.register(ALL_FILES)
    key_of = dict(zip(ALL_FILES, keys, strict=True))
    result = bench.materialize_range(keys[0], keys[-1])
    assert not result.success
    for name in BROKEN_FILES:
        key = key_of[name]
        for stage in STAGES:
            assert bench.materializations(stage, key) == [], f"{name} {stage} materialized"
            values = only_event(bench.observations(stage, key, result.run_id))
            assert values["status"] == "failed"
            assert values["partition_key"] == key
            assert values["error_kind"], f"{name} {stage}: no error_kind"
            assert values["error_message"], f"{name} {stage}: no error_message"
        ingested = only_event(bench.observations("ingested", key, result.run_id))
        assert ingested["error_kind"] == "invalid_input"
        assert name in ingested["error_message"]
        downstream = only_event(bench.observations("thumbnail", key, result.run_id))
        assert downstream["error_kind"] == "upstream_failed"
    for name in GOOD_FILES:
        for stage in STAGES:
            assert bench.observations(stage, key_of[name]) == [], f"{name} {stage} observed"


def test_unreachable_source_failure_names_the_source(bench: PipelineBench) -> None:
    """A file the hosted API cannot read fails with its own URI, not only its partition key."""
    (key,) = bench.register(["small-clip.mp4"])
    hosted = IttybitResource(base_url=bench.service.base_url, api_key="not-a-real-key")
    result = dg.materialize(
        [MEDIA_PIPELINE],
        instance=bench.instance,
        partition_key=key,
        resources={"ittybit": hosted},
        raise_on_error=False,
    )
    assert not result.success
    values = only_event(bench.observations("ingested", key, result.run_id))
    assert values["error_kind"] == "invalid_source"
    assert values["source_uri"] == (bench.library / "small-clip.mp4").as_uri()
    assert "cannot read it" in values["error_message"]


@pytest.mark.parametrize(
    ("name", "not_applicable", "made"),
    [
        ("tone.mp3", {"thumbnail", "transcoded"}, {"ingested", "audio"}),
        ("still.png", {"audio", "transcoded"}, {"ingested", "thumbnail"}),
        ("silent-clip.mp4", {"audio"}, {"ingested", "thumbnail", "transcoded"}),
    ],
    ids=["audio-only", "image", "silent-video"],
)
def test_stages_that_do_not_apply_are_not_applicable(
    bench: PipelineBench, name: str, not_applicable: set[str], made: set[str]
) -> None:
    """Stages a source's media cannot feed are materialized as not_applicable, never failed."""
    (key,) = bench.register([name])
    result = bench.materialize_one(key)
    assert result.success
    results = stage_results(bench, key, result.run_id)
    for stage in not_applicable:
        assert results[stage]["status"] == "not_applicable", stage
        assert results[stage]["error_message"], f"{stage}: no reason given"
        assert "job_id" not in results[stage]
        assert "dagster/uri" not in results[stage]
    for stage in made:
        assert results[stage]["status"] == "succeeded", stage
        assert results[stage]["dagster/uri"], stage
    for stage in STAGES:
        assert bench.observations(stage, key) == [], f"{stage} recorded a failure"


def test_thumbnail_only_reuses_the_ingested_output(bench: PipelineBench) -> None:
    """Selecting only thumbnail for an ingested partition makes one image job from that output."""
    (key,) = bench.register(["small-clip.mp4"])
    first = bench.materialize_one(key, selection=["ingested"])
    assert first.success
    (ingested,) = bench.materializations("ingested", key)
    ingested_url = metadata_values(ingested)["dagster/uri"]
    before = bench.stats()

    second = bench.materialize_one(key, selection=["thumbnail"])
    assert second.success
    after = bench.stats()
    assert after["jobs"]["total"] == before["jobs"]["total"] + 1
    assert "POST /tasks" not in after["requests"], "ingest facts come from the ingest job"
    assert len(bench.materializations("ingested", key)) == 1  # no new ingest
    for stage in ("audio", "transcoded"):
        assert bench.materializations(stage, key) == []
    thumbnail = only_event(bench.materializations("thumbnail", key, second.run_id))
    assert thumbnail["status"] == "succeeded"
    job = bench.job(thumbnail["job_id"])
    assert job["kind"] == "image"
    assert job["input"] == ingested_url


def test_thumbnail_without_ingested_fails_with_a_reason(bench: PipelineBench) -> None:
    """Selecting only thumbnail for a never-ingested partition fails and says to select ingested."""
    (key,) = bench.register(["small-clip.mp4"])
    result = bench.materialize_one(key, selection=["thumbnail"])
    assert not result.success
    assert bench.stats()["jobs"]["total"] == 0
    values = only_event(bench.observations("thumbnail", key, result.run_id))
    assert values["error_kind"] == "ingested_missing"
    assert "select it too" in bench.step_failure_description(result.run_id)


def test_rerun_of_unchanged_partition_does_no_remote_work(bench: PipelineBench) -> None:
    """Re-materializing an unchanged partition records every stage as cached and creates no job."""
    (key,) = bench.register(["small-clip.mp4"])
    first = bench.materialize_one(key)
    assert first.success
    before = bench.stats()
    first_results = stage_results(bench, key, first.run_id)

    second = bench.materialize_one(key)
    assert second.success
    after = bench.stats()
    assert after["jobs"]["total"] == before["jobs"]["total"] == 4
    assert after["requests"].get("POST /jobs") == before["requests"].get("POST /jobs")
    assert "POST /tasks" not in after["requests"], "ingest facts come from the ingest job"
    second_results = stage_results(bench, key, second.run_id)
    for stage in STAGES:
        assert second_results[stage]["cached"] is True, stage
        assert second_results[stage]["job_id"] == first_results[stage]["job_id"], stage
        assert second_results[stage]["dagster/uri"] == first_results[stage]["dagster/uri"], stage


def test_changed_source_is_processed_again(bench: PipelineBench) -> None:
    """After the source file changes and is re-registered, a re-run makes new remote jobs."""
    source = bench.scratch / "replaced.mp4"
    shutil.copyfile(bench.library / "small-clip.mp4", source)  # 320x240
    (key,) = bench.register([source.name], folder=bench.scratch)
    first = bench.materialize_one(key)
    assert first.success
    first_results = stage_results(bench, key, first.run_id)

    shutil.copyfile(bench.library / "portrait-clip.mp4", source)  # 240x320, same name and key
    assert bench.register([source.name], folder=bench.scratch) == [key]
    second = bench.materialize_one(key)
    assert second.success
    assert bench.stats()["jobs"]["total"] == 8
    second_results = stage_results(bench, key, second.run_id)
    for stage in STAGES:
        assert second_results[stage]["cached"] is False, stage
        assert second_results[stage]["job_id"] != first_results[stage]["job_id"], stage
    ingested = second_results["ingested"]
    assert (ingested["width"], ingested["height"]) == (240, 320)


def test_fixed_broken_file_succeeds_on_rerun(bench: PipelineBench) -> None:
    """A file that failed, once replaced by good media, materializes on its next run."""
    source = bench.scratch / "was-broken.mp4"
    source.write_bytes(b"")
    (key,) = bench.register([source.name], folder=bench.scratch)
    first = bench.materialize_one(key)
    assert not first.success
    assert bench.materializations("ingested", key) == []

    shutil.copyfile(bench.library / "small-clip.mp4", source)
    bench.register([source.name], folder=bench.scratch)
    second = bench.materialize_one(key)
    assert second.success
    results = stage_results(bench, key, second.run_id)
    assert {values["status"] for values in results.values()} == {"succeeded"}
    assert results["ingested"]["attempts"] == 2  # a new generation after the failure


def _latest_status(bench: PipelineBench, stage: str, key: str) -> dict[str, Any] | None:
    """The metadata of the latest materialization or observation of (stage, key), if any."""
    asset_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[key])
    candidates: list[tuple[int, dict[str, Any]]] = []
    for record in bench.instance.fetch_materializations(asset_filter, limit=1).records:
        assert record.asset_materialization is not None
        candidates.append((record.storage_id, metadata_values(record.asset_materialization)))
    for record in bench.instance.fetch_observations(asset_filter, limit=1).records:
        assert record.asset_observation is not None
        candidates.append((record.storage_id, metadata_values(record.asset_observation)))
    return max(candidates, key=lambda item: item[0])[1] if candidates else None


def test_manifest_rows_match_the_event_log(bench: PipelineBench) -> None:
    """batch_manifest writes one DuckDB row per (file, stage) with the event log's status."""
    # Every file registered; the last one left out of the run so it stays pending.
    names = [name for name in ALL_FILES if name != "portrait-clip.mp4"] + ["portrait-clip.mp4"]
    keys = bench.register(names)
    run = bench.materialize_range(keys[0], keys[-2])
    assert not run.success  # the broken files
    manifest_run = dg.materialize([batch_manifest], instance=bench.instance)
    assert manifest_run.success

    path = load_settings().manifest_path
    assert path == bench.home / "manifest.duckdb"
    rows = read_results(path)
    assert len(rows) == len(keys) * len(STAGES)
    assert {(row["partition_key"], row["stage"]) for row in rows} == {
        (key, stage) for key in keys for stage in STAGES
    }
    expected_counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        recorded = _latest_status(bench, row["stage"], row["partition_key"])
        expected = "pending" if recorded is None else recorded["status"]
        assert row["status"] == expected, (row["partition_key"], row["stage"])
        expected_counts[(row["stage"], expected)] += 1
        if recorded is not None:
            for column in ("job_id", "error_kind", "error_message", "processing_ms", "width"):
                assert row[column] == recorded.get(column), (row["partition_key"], column)
            assert row["source_uri"] == recorded["source_uri"]
    pending_key = keys[-1]
    assert {row["status"] for row in rows if row["partition_key"] == pending_key} == {"pending"}

    summary = {row["stage"]: row for row in read_summary(path)}
    statuses = ("succeeded", "failed", "not_applicable", "pending")
    for stage in STAGES:
        assert summary[stage]["total"] == len(keys)
        for status in statuses:
            assert summary[stage][status] == expected_counts[(stage, status)], (stage, status)
        assert sum(summary[stage][status] for status in statuses) == summary[stage]["total"]
    overall = summary["all"]
    assert overall["total"] == len(rows)
    for status in statuses:
        assert overall[status] == sum(summary[stage][status] for stage in STAGES), status
    assert overall["failed"] == len(BROKEN_FILES) * len(STAGES)
    assert overall["pending"] == len(STAGES)


needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared media corpus not found at {CORPUS}"
)


@pytest.mark.corpus
@needs_corpus
def test_corpus_landscape_video_partition(bench: PipelineBench, tmp_path: Path) -> None:
    """A real H.264/AAC 1080x720 clip gets four successful stages with valid outputs."""
    (key,) = bench.register(["h264-aac-1080x720.mp4"], folder=CORPUS)
    result = bench.materialize_one(key)
    assert result.success
    results = stage_results(bench, key, result.run_id)
    assert {values["status"] for values in results.values()} == {"succeeded"}
    transcoded = probe_file(download(results["transcoded"]["dagster/uri"], tmp_path / "t.mp4"))
    assert (transcoded["codecs"]["video"], transcoded["width"], transcoded["height"]) == (
        "h264",
        1080,
        720,
    )
    thumbnail = probe_file(download(results["thumbnail"]["dagster/uri"], tmp_path / "t.webp"))
    assert (thumbnail["format"], thumbnail["width"]) == ("webp", 640)
    audio = probe_file(download(results["audio"]["dagster/uri"], tmp_path / "a.mp3"))
    assert audio["format"] == "mp3"


@pytest.mark.corpus
@needs_corpus
def test_corpus_rotated_portrait_phone_video_stays_portrait(
    bench: PipelineBench, tmp_path: Path
) -> None:
    """A 4K phone clip stored landscape with a 90° rotation is transcoded upright and portrait."""
    (key,) = bench.register(["h264-4k-portrait-rot90-phone.mp4"], folder=CORPUS)
    result = bench.materialize_one(key)
    assert result.success
    results = stage_results(bench, key, result.run_id)
    assert {values["status"] for values in results.values()} == {"succeeded"}
    transcoded = probe_file(download(results["transcoded"]["dagster/uri"], tmp_path / "t.mp4"))
    assert transcoded["codecs"]["video"] == "h264"
    assert transcoded["width"] == 1280
    assert transcoded["height"] > transcoded["width"]
    assert transcoded["orientation"] == "portrait"
    thumbnail = probe_file(download(results["thumbnail"]["dagster/uri"], tmp_path / "t.webp"))
    assert thumbnail["width"] == 640
    assert thumbnail["height"] > thumbnail["width"]
