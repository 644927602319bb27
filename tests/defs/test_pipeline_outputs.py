"""Where the pipeline's outputs end up, and how their results read in the event log."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dagster as dg
import pytest
from pipeline_bench import PipelineBench, metadata_values

from media_assets.defs.latest_results import latest_results
from media_assets.defs.resources import IttybitResource
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import running_in_thread
from media_assets.results import Stage

STAGES = ("ingested", "thumbnail", "audio", "transcoded")


def test_outputs_are_recorded_as_files_in_the_output_folder(bench: PipelineBench) -> None:
    """Each output's dagster/uri is a file:// URL into outputs/<stage>/<key>/, and it is there."""
    (key,) = bench.register(["small-clip.mp4"])
    result = bench.materialize_one(key)
    assert result.success
    for stage in STAGES:
        (event,) = bench.materializations(stage, key, result.run_id)
        values = metadata_values(event)
        uri = values["dagster/uri"]
        assert uri.startswith("file://"), f"{stage}: {uri}"
        path = Path(unquote(urlsplit(uri).path))
        assert path.parent == bench.outputs / stage / key, stage
        assert path.is_file(), stage
        assert values["output_path"] == str(path)
        assert isinstance(event.metadata["output_path"], dg.PathMetadataValue)


def test_times_are_timestamps_and_the_source_probe_is_recorded(bench: PipelineBench) -> None:
    """created_at/completed_at are UI timestamps; container, codecs, fps, bitrate, duration,
    size and rotation of the source are in the metadata and read back in milliseconds."""
    (key,) = bench.register(["wide-clip.mp4"])  # 1600x900, 15 fps, 2.5 s, h264 + aac
    started = time.time()
    result = bench.materialize_one(key)
    assert result.success
    (event,) = bench.materializations("ingested", key, result.run_id)
    for name in ("created_at", "completed_at"):
        stamp = event.metadata[name]
        assert isinstance(stamp, dg.TimestampMetadataValue), name
        assert started - 60 < stamp.value < time.time() + 60, name
    values = metadata_values(event)
    assert values["source_container"] == "mp4"
    assert (values["source_video_codec"], values["source_audio_codec"]) == ("h264", "aac")
    assert values["source_fps"] == pytest.approx(15.0)
    assert values["source_bitrate"] > 0
    assert values["source_duration_s"] == pytest.approx(2.5, abs=0.1)
    assert (values["source_width"], values["source_height"]) == (1600, 900)
    assert values["source_rotation"] == 0
    recorded = latest_results(bench.instance, Stage.INGESTED, [key])[key]
    assert recorded.created_at is not None and recorded.created_at > started * 1000 - 60_000
    assert recorded.output_url == values["dagster/uri"]


def test_a_later_stage_reads_an_earlier_output_after_the_service_moved(
    bench: PipelineBench, tmp_path: Path
) -> None:
    """thumbnail alone, on a new service on another port, reads ingested's file:// output."""
    (key,) = bench.register(["small-clip.mp4"])
    assert bench.materialize_one(key, selection=["ingested"]).success
    (ingested,) = bench.materializations("ingested", key)
    config = ServiceConfig(
        port=0, data_dir=tmp_path / "another", output_dir=bench.outputs, engine="ffmpeg"
    )
    with running_in_thread(config) as moved:
        assert moved.base_url != bench.service.base_url
        result = dg.materialize(
            [bench_pipeline()],
            instance=bench.instance,
            partition_key=key,
            selection=["thumbnail"],
            resources={
                "ittybit": IttybitResource(base_url=moved.base_url, output_dir=str(bench.outputs))
            },
            raise_on_error=False,
        )
    assert result.success
    (thumbnail,) = bench.materializations("thumbnail", key, result.run_id)
    assert metadata_values(thumbnail)["status"] == "succeeded"
    assert Path(metadata_values(thumbnail)["output_path"]).is_file()
    assert metadata_values(ingested)["dagster/uri"].startswith("file://")


def bench_pipeline() -> dg.AssetsDefinition:
    from pipeline_bench import MEDIA_PIPELINE

    return MEDIA_PIPELINE
