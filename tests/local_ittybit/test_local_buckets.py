"""``s3://`` inputs and ``output`` deliveries, through the stand-in buckets under the data dir."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest
from local_service_helpers import RunningService, StartService, create_job, wait_for_status


@pytest.fixture
def ffmpeg_service(start_service: StartService) -> RunningService:
    return start_service(engine="ffmpeg", workers=2)


def _put_object(service: RunningService, bucket: str, key: str, data: bytes) -> Path:
    path = service.config.s3_dir / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_an_s3_input_is_read_from_its_bucket(
    ffmpeg_service: RunningService, sample_clip: Path
) -> None:
    """A job whose input is s3://bucket/key encodes the object stored under that key."""
    _put_object(ffmpeg_service, "media", "in/sample.mp4", sample_clip.read_bytes())
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(http, input="s3://media/in/sample.mp4", options={"width": 160})
        done = wait_for_status(http, job["id"], timeout=60)
    assert done["status"] == "succeeded", done["error"]
    assert done["tasks"][0]["output"]["url"] == "s3://media/in/sample.mp4"


def test_a_missing_s3_object_fails_the_job_naming_it(ffmpeg_service: RunningService) -> None:
    """An s3:// input with nothing stored under its key ends failed with download_failed."""
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(http, input="s3://media/in/absent.mp4")
        done = wait_for_status(http, job["id"], timeout=60)
    assert done["status"] == "failed"
    assert done["error"]["kind"] == "download_failed"
    assert "s3://media/in/absent.mp4" in done["error"]["message"]


def test_output_is_delivered_to_the_s3_destination(
    ffmpeg_service: RunningService, sample_clip: Path, tmp_path: Path
) -> None:
    """With output s3://bucket/key, the export task writes the result there and names it."""
    _put_object(ffmpeg_service, "media", "in/sample.mp4", sample_clip.read_bytes())
    destination = "s3://deliveries/out/clip-160.mp4"
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(
            http, input="s3://media/in/sample.mp4", options={"width": 160}, output=destination
        )
        done = wait_for_status(http, job["id"], timeout=60)
    assert done["status"] == "succeeded", done["error"]
    export = done["tasks"][3]
    assert (export["kind"], export["status"]) == ("export", "succeeded")
    assert export["options"] == {"url": destination}
    assert export["output"]["url"] == destination
    assert "/files/" in done["output"]  # the service's own copy stays downloadable
    delivered = ffmpeg_service.config.s3_dir / "deliveries" / "out" / "clip-160.mp4"
    with av.open(str(delivered)) as container:
        assert container.streams.video[0].codec_context.width == 160


@pytest.mark.parametrize(
    "output", ["https://example.com/out.mp4", "s3://bucket-only", "s3://b/../../escape.mp4", 7]
)
def test_an_output_that_is_no_s3_object_url_is_refused(
    service: RunningService, output: object
) -> None:
    """output must be s3://bucket/key inside its bucket; anything else is 400 invalid_input."""
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        response = http.post(
            "/jobs", json={"kind": "video", "input": "https://m.example/a.mp4", "output": output}
        )
    assert response.status_code == 400, response.text
    assert response.json()["kind"] == "invalid_input"
