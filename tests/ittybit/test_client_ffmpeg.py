"""The client against the ffmpeg engine: real probes and encodes of a generated 2 s clip."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ittybit_client_helpers import MakeClient, StartService

from media_assets.ittybit import IttybitClient, JobFailed, JobStatus, TaskFailed
from media_assets.local_ittybit import RunningService
from media_assets.sources import file_uri

pytestmark = pytest.mark.anyio


@pytest.fixture
def library(tmp_path: Path, two_second_clip: Path) -> Path:
    """An allowed root holding the clip and an empty (broken) file."""
    root = tmp_path / "library"
    root.mkdir()
    (root / two_second_clip.name).write_bytes(two_second_clip.read_bytes())
    (root / "empty.mp4").write_bytes(b"")
    return root


@pytest.fixture
def ffmpeg_service(start_service: StartService, library: Path) -> RunningService:
    return start_service(engine="ffmpeg", workers=2, allow_roots=(library,))


@pytest.fixture
def ffmpeg_client(ffmpeg_service: RunningService, make_client: MakeClient) -> IttybitClient:
    return make_client(ffmpeg_service.base_url)


@pytest.fixture
def clip_url(library: Path, two_second_clip: Path) -> str:
    return file_uri(library / two_second_clip.name)


async def test_probe_reports_a_video_file(ffmpeg_client: IttybitClient, clip_url: str) -> None:
    """Probing the clip gives a video File with its size, duration and codecs."""
    probed = await ffmpeg_client.probe(clip_url)
    assert probed.kind == "video"
    assert (probed.width, probed.height) == (640, 360)
    assert probed.duration is not None and 1.8 <= probed.duration <= 2.2
    assert probed.codecs.get("video") == "h264"
    assert probed.has_audio is True


async def test_probe_of_a_broken_file_raises_task_failed(
    ffmpeg_client: IttybitClient, library: Path
) -> None:
    """An empty file fails the probe with a reason naming it."""
    with pytest.raises(TaskFailed) as caught:
        await ffmpeg_client.probe(file_uri(library / "empty.mp4"))
    assert "empty.mp4" in caught.value.reason


async def test_video_job_resizes_and_serves_a_downloadable_mp4(
    ffmpeg_client: IttybitClient, clip_url: str
) -> None:
    """A video→mp4 job at width 320 yields a 320x180 output that downloads as an mp4."""
    result = await ffmpeg_client.run_job(
        input=clip_url, kind="video", options={"format": "mp4", "width": 320}, timeout=60
    )
    job = result.job
    assert job.status is JobStatus.SUCCEEDED
    output = job.output_file
    assert output is not None
    assert (output.kind, output.format, output.width, output.height) == ("video", "mp4", 320, 180)
    assert job.output is not None
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(job.output)
    assert response.status_code == 200
    assert response.content[4:8] == b"ftyp"
    assert output.filesize == len(response.content)


async def test_video_output_probes_as_requested(
    ffmpeg_client: IttybitClient, clip_url: str
) -> None:
    """Probing the job's output URL agrees with the options asked for."""
    result = await ffmpeg_client.run_job(
        input=clip_url, kind="video", options={"format": "mp4", "width": 320}, timeout=60
    )
    assert result.job.output is not None
    probed = await ffmpeg_client.probe(result.job.output)
    assert (probed.kind, probed.width, probed.height) == ("video", 320, 180)


async def test_audio_job_makes_an_mp3(ffmpeg_client: IttybitClient, clip_url: str) -> None:
    """An audio→mp3 job yields an audio File in mp3."""
    result = await ffmpeg_client.run_job(
        input=clip_url, kind="audio", options={"format": "mp3"}, timeout=60
    )
    output = result.job.output_file
    assert output is not None
    assert (output.kind, output.format) == ("audio", "mp3")
    assert output.duration is not None and 1.5 <= output.duration <= 2.5


async def test_image_job_makes_a_webp(ffmpeg_client: IttybitClient, clip_url: str) -> None:
    """An image→webp job at width 160 yields a 160x90 webp image."""
    result = await ffmpeg_client.run_job(
        input=clip_url, kind="image", options={"format": "webp", "width": 160}, timeout=60
    )
    output = result.job.output_file
    assert output is not None
    assert (output.kind, output.format, output.width, output.height) == ("image", "webp", 160, 90)


async def test_job_on_a_broken_file_fails_with_a_reason(
    ffmpeg_client: IttybitClient, library: Path
) -> None:
    """An empty input ends as JobFailed whose reason names the file."""
    with pytest.raises(JobFailed) as caught:
        await ffmpeg_client.run_job(input=file_uri(library / "empty.mp4"), kind="video", timeout=60)
    assert caught.value.kind == "invalid_input"
    assert "empty.mp4" in caught.value.reason
