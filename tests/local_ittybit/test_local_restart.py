"""The service as a child process: stopping or killing it mid-job loses no job."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import httpx
from local_service_helpers import create_job, wait_for_status

from media_assets.local_ittybit import LocalService


def _restart_mid_job(start: Callable[..., LocalService], *, kill: bool) -> None:
    local = start(workers=2, latency=(0.6, 0.6))
    port = local.config.port
    with httpx.Client(base_url=local.base_url, timeout=10) as http:
        ids = [create_job(http, input=f"https://m.example/{n}.mp4")["id"] for n in range(5)]
        wait_for_status(http, ids[0], {"processing"})
    local.restart(kill=kill)
    assert local.config.port == port
    with httpx.Client(base_url=local.base_url, timeout=10) as http:
        finished = [wait_for_status(http, job_id, timeout=20) for job_id in ids]
        listed = {job["id"] for job in http.get("/jobs").json()}
    assert [job["status"] for job in finished] == ["succeeded"] * 5
    assert listed == set(ids)


def test_graceful_restart_mid_job_finishes_every_job(
    subprocess_service: Callable[..., LocalService],
) -> None:
    """SIGTERM while jobs run, start again: every job is still there and succeeds."""
    _restart_mid_job(subprocess_service, kill=False)


def test_crash_mid_job_finishes_every_job(subprocess_service: Callable[..., LocalService]) -> None:
    """SIGKILL while jobs run, start again: accepted jobs survive and are re-run."""
    _restart_mid_job(subprocess_service, kill=True)


def test_job_that_cannot_rerun_after_restart_fails_interrupted(
    subprocess_service: Callable[..., LocalService], tmp_path: Path
) -> None:
    """A processing job whose file:// input is no longer allowed ends failed/interrupted."""
    root = tmp_path / "library"
    root.mkdir()
    local = subprocess_service(allow_roots=(root,), hang_rate=1.0)
    with httpx.Client(base_url=local.base_url, timeout=10) as http:
        job = create_job(http, input=f"file://{root}/clip.mp4")
        wait_for_status(http, job["id"], {"processing"})
    local.stop()
    local.config = dataclasses.replace(local.config, allow_roots=())
    local.start()
    with httpx.Client(base_url=local.base_url, timeout=10) as http:
        done = wait_for_status(http, job["id"])
    assert done["status"] == "failed"
    assert done["error"]["kind"] == "interrupted"
