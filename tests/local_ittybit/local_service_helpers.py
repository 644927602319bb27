"""Small helpers the local service tests share (imported by name; fixtures live in conftest)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from media_assets.local_ittybit import RunningService

__all__ = ["TERMINAL", "RunningService", "StartService", "create_job", "wait_for_status"]

StartService = Callable[..., RunningService]

TERMINAL = {"succeeded", "failed", "cancelled"}


def create_job(client: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("kind", "video")
    body.setdefault("input", "https://media.example/clip.mp4")
    response = client.post("/jobs", json=body)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for_status(
    client: httpx.Client, job_id: str, statuses: set[str] = TERMINAL, timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.02)
