"""adaptive_video jobs: a real HLS ladder from the ffmpeg engine, checked by reading it back."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import av
import httpx
import imageio_ffmpeg
import pytest
from local_service_helpers import RunningService, StartService, create_job, wait_for_status

from media_assets.local_ittybit.media.hls import read_master, read_media_playlist


@pytest.fixture
def ffmpeg_service(start_service: StartService, sample_clip: Path) -> RunningService:
    return start_service(engine="ffmpeg", workers=2, allow_roots=(sample_clip.parent,))


def _ladder_job(service: RunningService, clip: Path, **body: object) -> dict[str, object]:
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http, kind="adaptive_video", input=clip.as_uri(), **body)
        done = wait_for_status(http, str(job["id"]), timeout=120)
    assert done["status"] == "succeeded", done["error"]
    return done


def test_an_adaptive_video_job_serves_a_playable_ladder(
    ffmpeg_service: RunningService, sample_clip: Path, tmp_path: Path
) -> None:
    """The master lists two or more renditions; each one's first segment decodes at its size."""
    done = _ladder_job(ffmpeg_service, sample_clip)
    master_url = str(done["output"])
    assert master_url.endswith(".m3u8")
    with httpx.Client(timeout=30) as http:
        response = http.get(master_url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        (tmp_path / "master.m3u8").write_text(response.text)
        variants = read_master(tmp_path / "master.m3u8")
        assert len(variants) >= 2
        heights = [variant["height"] for variant in variants]
        assert heights[0] == 240 and heights == sorted(heights, reverse=True)
        for n, variant in enumerate(variants):
            playlist_url = urljoin(master_url, variant["uri"])
            playlist = http.get(playlist_url).text
            assert "#EXT-X-ENDLIST" in playlist
            (tmp_path / f"v{n}.m3u8").write_text(playlist)
            duration, segments = read_media_playlist(tmp_path / f"v{n}.m3u8")
            assert 0.8 <= duration <= 1.2, duration  # the clip is 1 s
            segment = http.get(urljoin(playlist_url, segments[0]))
            assert segment.headers["content-type"] == "video/mp2t"
            with av.open(io.BytesIO(segment.content)) as container:
                frame = next(container.decode(video=0))
                assert (frame.width, frame.height) == (variant["width"], variant["height"])
                assert container.streams.audio, f"rendition {n} has no sound"
    encoded = done["tasks"][2]["output"]
    assert (encoded["format"], encoded["width"], encoded["height"]) == ("hls", 320, 240)
    assert len(encoded["renditions"]) == len(variants)


def test_a_ladder_is_delivered_whole_to_its_s3_destination(
    ffmpeg_service: RunningService, sample_clip: Path
) -> None:
    """With output s3://…/master.m3u8 the master and every rendition land in the bucket."""
    destination = "s3://deliveries/clip/adaptive_video/master.m3u8"
    done = _ladder_job(ffmpeg_service, sample_clip, output=destination)
    assert done["tasks"][3]["output"]["url"] == destination
    folder = ffmpeg_service.config.s3_dir / "deliveries" / "clip" / "adaptive_video"
    variants = read_master(folder / "master.m3u8")
    for variant in variants:
        _, segments = read_media_playlist(folder / variant["uri"])
        for segment in segments:
            assert (folder / variant["uri"]).parent.joinpath(segment).stat().st_size > 0


def test_an_audio_source_cannot_make_a_ladder(start_service: StartService, tmp_path: Path) -> None:
    """adaptive_video needs a picture: an mp3 input ends failed with invalid_input."""
    tone = tmp_path / "tone.mp3"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i"]
    subprocess.run([*command, "sine=duration=1", str(tone)], check=True)
    service = start_service(engine="ffmpeg", allow_roots=(tmp_path,))
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http, kind="adaptive_video", input=tone.as_uri())
        done = wait_for_status(http, job["id"], timeout=60)
    assert done["status"] == "failed"
    assert done["error"]["kind"] == "invalid_input"
