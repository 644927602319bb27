"""The ffmpeg engine doing real work on a generated clip."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import av
import httpx
import pytest
from local_service_helpers import RunningService, StartService, create_job, wait_for_status


@pytest.fixture
def media_root(tmp_path: Path, sample_clip: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    (root / sample_clip.name).write_bytes(sample_clip.read_bytes())
    (root / "empty.mp4").write_bytes(b"")
    return root


@pytest.fixture
def ffmpeg_service(start_service: StartService, media_root: Path) -> RunningService:
    return start_service(engine="ffmpeg", workers=2, allow_roots=(media_root,))


@contextlib.contextmanager
def _static_server(folder: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _file_url(path: Path) -> str:
    return "file://" + quote(str(path))


def test_file_input_is_encoded_to_a_downloadable_mp4(
    ffmpeg_service: RunningService, media_root: Path, tmp_path: Path
) -> None:
    """A file:// clip under an allowed root becomes an mp4 served at the job's output URL."""
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(
            http, input=_file_url(media_root / "sample clip.mp4"), options={"width": 160}
        )
        done = wait_for_status(http, job["id"], timeout=60)
        assert done["status"] == "succeeded", done["error"]
        download = http.get(done["output"])
    assert download.status_code == 200
    copy = tmp_path / "downloaded.mp4"
    copy.write_bytes(download.content)
    with av.open(str(copy)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 120)
    assert done["tasks"][0]["output"]["width"] == 320
    assert done["tasks"][2]["output"]["url"] == done["output"]


def test_broken_input_fails_the_job_and_names_the_file(
    ffmpeg_service: RunningService, media_root: Path
) -> None:
    """A zero-byte input ends as a failed job whose error names the file; the service lives on."""
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(http, input=_file_url(media_root / "empty.mp4"))
        done = wait_for_status(http, job["id"], timeout=60)
        health = http.get("/_local/health")
    assert done["status"] == "failed"
    assert done["error"]["kind"] and "empty.mp4" in done["error"]["message"]
    assert done["tasks"][0]["status"] == "failed"
    assert health.status_code == 200


def test_unwritable_output_folder_fails_the_job_naming_the_path(
    ffmpeg_service: RunningService, media_root: Path
) -> None:
    """When outputs cannot be written, the job fails with storage_error naming the folder."""
    outputs = ffmpeg_service.config.files_dir
    shutil.rmtree(outputs)
    outputs.write_text("a file where the outputs folder should be")
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(http, input=_file_url(media_root / "sample clip.mp4"))
        done = wait_for_status(http, job["id"], timeout=60)
    assert done["status"] == "failed"
    assert done["error"]["kind"] == "storage_error"
    assert str(outputs) in done["error"]["message"]


def test_http_input_is_downloaded_and_chained_output_is_reused(
    ffmpeg_service: RunningService, media_root: Path
) -> None:
    """An http(s) input is downloaded; a job fed another job's output URL succeeds too."""
    with (
        _static_server(media_root) as origin,
        httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http,
    ):
        ingest = create_job(http, input=f"{origin}/{quote('sample clip.mp4')}")
        ingested = wait_for_status(http, ingest["id"], timeout=60)
        assert ingested["status"] == "succeeded", ingested["error"]
        thumb = create_job(http, kind="image", input=ingested["output"], options={"width": 64})
        thumbnail = wait_for_status(http, thumb["id"], timeout=60)
    assert thumbnail["status"] == "succeeded", thumbnail["error"]
    assert thumbnail["tasks"][2]["output"]["width"] == 64


def test_probe_task_reads_real_media(ffmpeg_service: RunningService, media_root: Path) -> None:
    """POST /tasks probe of a real clip reports its size and duration."""
    url = _file_url(media_root / "sample clip.mp4")
    task = httpx.post(
        f"{ffmpeg_service.base_url}/tasks", json={"kind": "probe", "input": {"url": url}}
    ).json()
    assert task["status"] == "succeeded"
    assert (task["output"]["width"], task["output"]["height"]) == (320, 240)
    assert task["output"]["duration"] == pytest.approx(1.0, abs=0.2)


def _ffmpeg_children() -> list[str]:
    """Command lines of ffmpeg processes whose parent is this test process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "ffmpeg" in cmdline:
                    found.append(cmdline)
    return found


def test_cancel_kills_a_running_encode(
    ffmpeg_service: RunningService, media_root: Path, long_clip: Path
) -> None:
    """Cancelling a job mid-encode ends it cancelled at once and leaves no ffmpeg running."""
    shutil.copy(long_clip, media_root / long_clip.name)
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        job = create_job(
            http,
            input=_file_url(media_root / long_clip.name),
            options={"format": "webm", "quality": "very_high"},
        )
        deadline = time.monotonic() + 30
        while http.get(f"/jobs/{job['id']}").json()["tasks"][2]["status"] != "processing":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cancelled = http.post(f"/_local/jobs/{job['id']}/cancel").json()
        deadline = time.monotonic() + 10
        while _ffmpeg_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        later = http.get(f"/jobs/{job['id']}").json()
    assert cancelled["status"] == later["status"] == "cancelled"
    assert _ffmpeg_children() == []


def test_audio_and_animation_jobs_produce_their_formats(
    ffmpeg_service: RunningService, media_root: Path
) -> None:
    """The same clip becomes an mp3 (audio job) and an animated gif (animation job)."""
    url = _file_url(media_root / "sample clip.mp4")
    with httpx.Client(base_url=ffmpeg_service.base_url, timeout=30) as http:
        audio = create_job(http, kind="audio", input=url)
        animation = create_job(http, kind="animation", input=url, options={"width": 80})
        audio_done = wait_for_status(http, audio["id"], timeout=60)
        animation_done = wait_for_status(http, animation["id"], timeout=60)
    assert audio_done["output"].endswith(".mp3")
    assert audio_done["tasks"][2]["output"]["kind"] == "audio"
    assert animation_done["output"].endswith(".gif")
    assert animation_done["tasks"][2]["output"]["animated"] is True
