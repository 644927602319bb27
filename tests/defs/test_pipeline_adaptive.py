"""The optional adaptive_video stage: turned on for a library, an HLS ladder of each video."""

from pathlib import Path

import dagster as dg
import httpx
import pytest
from pipeline_bench import PipelineBench, metadata_values

from media_assets.defs.batch_manifest import batch_manifest
from media_assets.defs.media_pipeline import build_media_pipeline
from media_assets.local_ittybit.media.hls import read_master
from media_assets.manifest.queries import read_results
from media_assets.results import pipeline_stages
from media_assets.settings import load_settings

STAGE = "adaptive_video"
ADAPTIVE_PIPELINE = build_media_pipeline(
    files_per_run=25, stages=pipeline_stages(adaptive_video=True)
)


@pytest.fixture
def adaptive_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's setting, which the manifest reads to know its stages."""
    monkeypatch.setenv("MEDIA_ASSETS_ADAPTIVE_VIDEO", "1")


def materialize(bench: PipelineBench, key: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ADAPTIVE_PIPELINE],
        instance=bench.instance,
        partition_key=key,
        resources={"ittybit": bench.resource},
        raise_on_error=False,
    )


def only_adaptive(bench: PipelineBench, key: str) -> dict[str, object]:
    (event,) = bench.materializations("adaptive_video", key)
    return metadata_values(event)


@pytest.mark.usefixtures("adaptive_on")
def test_a_video_gets_an_hls_ladder(bench: PipelineBench, tmp_path: Path) -> None:
    """With the stage on, a video's fifth result is a master playlist of two or more renditions."""
    (key,) = bench.register(["small-clip.mp4"])
    result = materialize(bench, key)
    assert result.success
    check = bench.check_evaluations(result.run_id)[("adaptive_video", key)]
    assert check.passed, check.description
    values = only_adaptive(bench, key)
    assert (values["status"], values["kind"], values["format"]) == (
        "succeeded",
        "adaptive_video",
        "hls",
    )
    assert (values["width"], values["height"]) == (320, 240)
    master = httpx.get(str(values["output_link"]), timeout=30)
    assert master.status_code == 200
    (tmp_path / "master.m3u8").write_text(master.text)
    assert len(read_master(tmp_path / "master.m3u8")) >= 2
    job = bench.job(str(values["job_id"]))
    (ingested,) = bench.materializations("ingested", key)
    assert job["input"] == metadata_values(ingested)["dagster/uri"]  # made from the mezzanine


@pytest.mark.usefixtures("adaptive_on")
def test_audio_has_no_ladder_and_the_manifest_has_the_stage(bench: PipelineBench) -> None:
    """An mp3's adaptive_video is not applicable; the manifest lists the stage for every file."""
    keys = bench.register(["tone.mp3", "small-clip.mp4"])
    for key in keys:
        assert materialize(bench, key).success
    assert only_adaptive(bench, keys[0])["status"] == "not_applicable"
    assert dg.materialize([batch_manifest], instance=bench.instance).success
    rows = read_results(load_settings().manifest_path)
    ladders = {
        row["partition_key"]: row["status"] for row in rows if row["stage"] == "adaptive_video"
    }
    assert ladders == {keys[0]: "not_applicable", keys[1]: "succeeded"}
    assert len(rows) == 2 * 5
