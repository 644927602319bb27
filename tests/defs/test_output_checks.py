"""Every output's asset check, evaluated per partition as the pipeline records it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from media_clips import make_clip
from pipeline_bench import MEDIA_PIPELINE, PipelineBench, metadata_values

from media_assets.defs.definitions import build_definitions
from media_assets.defs.partitions import media_files
from media_assets.defs.result_events import STATUS_TAG
from media_assets.settings import load_settings

STAGES = ("ingested", "thumbnail", "audio", "transcoded")


def test_each_output_passes_its_check_about_its_latest_materialization(
    bench: PipelineBench,
) -> None:
    """A good clip: four passed output_valid evaluations, each about that stage's new output."""
    (key,) = bench.register(["wide-clip.mp4"])
    result = bench.materialize_one(key)
    assert result.success
    evaluations = bench.check_evaluations(result.run_id)
    assert set(evaluations) == {(stage, key) for stage in STAGES}
    for stage in STAGES:
        evaluation = evaluations[(stage, key)]
        assert evaluation.passed, f"{stage}: {evaluation.description}"
        assert evaluation.check_name == "output_valid"
        assert evaluation.description and evaluation.description.startswith("decodes")
        (materialization,) = bench.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[key]), limit=1
        ).records
        target = evaluation.target_materialization_data
        assert target is not None and target.storage_id == materialization.storage_id, stage
    assert "not blank" in (evaluations[("thumbnail", key)].description or "")


def test_a_blank_thumbnail_fails_its_check(bench: PipelineBench) -> None:
    """The thumbnail of an all-black clip is materialized, and its check fails as blank."""
    make_clip(bench.scratch / "black.mp4", size="320x240", seconds=3, pattern="black")
    (key,) = bench.register(["black.mp4"], folder=bench.scratch)
    result = bench.materialize_one(key)
    assert result.success
    evaluation = bench.check_evaluations(result.run_id)[("thumbnail", key)]
    assert not evaluation.passed
    assert "blank" in (evaluation.description or "")
    assert bench.check_evaluations(result.run_id)[("transcoded", key)].passed


def test_a_stage_that_does_not_apply_says_so_in_its_description_tag_and_check(
    bench: PipelineBench,
) -> None:
    """An mp3's thumbnail: 'Not applicable: …' as description, a status tag, a passing check."""
    (key,) = bench.register(["tone.mp3"])
    result = bench.materialize_one(key)
    assert result.success
    (event,) = bench.materializations("thumbnail", key, result.run_id)
    assert event.description == "Not applicable: audio-only source has no picture"
    assert event.tags[STATUS_TAG] == "not_applicable"
    assert list(metadata_values(event))[:3] == ["outcome", "status", "error_message"]
    assert metadata_values(event)["outcome"] == (
        "**Not applicable**: audio-only source has no picture"
    )
    evaluation = bench.check_evaluations(result.run_id)[("thumbnail", key)]
    assert evaluation.passed
    assert (evaluation.description or "").startswith("Not applicable: audio-only source")


def test_a_failed_stage_says_why_in_its_description_tag_and_check(bench: PipelineBench) -> None:
    """A zero-byte file: the failure's reason is the observation's description and the check's."""
    (key,) = bench.register(["zero-bytes.mp4"])
    result = bench.materialize_one(key)
    assert not result.success
    (observation,) = bench.observations("ingested", key, result.run_id)
    assert observation.description == (
        "Failed: invalid_input: zero-bytes.mp4: file is empty (0 bytes)"
    )
    assert observation.tags[STATUS_TAG] == "failed"
    evaluations = bench.check_evaluations(result.run_id)
    assert not evaluations[("ingested", key)].passed
    assert evaluations[("ingested", key)].description == (
        "No output: ingested failed: invalid_input: zero-bytes.mp4: file is empty (0 bytes)"
    )
    assert "ingested failed" in (evaluations[("thumbnail", key)].description or "")


def test_executing_only_the_check_rechecks_the_recorded_output(bench: PipelineBench) -> None:
    """Run on its own, the check finds an output deleted since and fails, saying it is gone."""
    (key,) = bench.register(["small-clip.mp4"])
    assert bench.materialize_one(key).success
    (transcoded,) = bench.materializations("transcoded", key)
    path = Path(metadata_values(transcoded)["output_path"])
    path.unlink()
    checks_only = dg.define_asset_job(
        "recheck",
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey("transcoded"), "output_valid"),
            dg.AssetCheckKey(dg.AssetKey("audio"), "output_valid"),
        ),
        partitions_def=media_files,
    )
    definitions = dg.Definitions(
        assets=[MEDIA_PIPELINE], jobs=[checks_only], resources={"ittybit": bench.resource}
    )
    result = definitions.resolve_job_def("recheck").execute_in_process(
        instance=bench.instance, tags={"dagster/partition": key}, raise_on_error=False
    )
    assert result.success
    evaluations = bench.check_evaluations(result.run_id)
    assert set(evaluations) == {("transcoded", key), ("audio", key)}
    assert not evaluations[("transcoded", key)].passed
    assert "gone" in (evaluations[("transcoded", key)].description or "")
    assert evaluations[("audio", key)].passed
    assert bench.stats()["jobs"]["total"] == 4  # nothing was processed again


def test_no_checks_are_defined_for_the_hosted_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs of the hosted API cannot be read here, so the stages carry no check at all."""
    monkeypatch.setenv("ITTYBIT_API_KEY", "ittybit_test_key")
    hosted = build_definitions(load_settings()).get_assets_def("ingested")
    assert list(hosted.check_specs) == []
    local = MEDIA_PIPELINE
    assert {spec.key.name for spec in local.check_specs} == {"output_valid"}
    assert len(list(local.check_specs)) == len(STAGES)
