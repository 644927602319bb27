"""Waiting on a server that holds GET /jobs/{id}?wait= until the job ends (the local service)."""

from __future__ import annotations

import asyncio
import time

import pytest
from ittybit_client_helpers import MakeClient, StartService

from media_assets.ittybit import DeadlineExceeded, JobStatus, PollPolicy

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/held.mp4"


async def test_held_wait_needs_two_requests_and_notices_at_once(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Create plus one held look: the end is noticed as it happens."""
    service = start_service(latency=(1.0, 1.0))
    client = make_client(service.base_url, poll=PollPolicy())
    started = time.monotonic()
    result = await client.run_job(input=CLIP, kind="video", timeout=20)
    elapsed = time.monotonic() - started
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.requests == 2
    assert client.stats.by_route["GET /jobs/{id}"] == 1
    processing_s = (result.job.processing_ms or 0) / 1000
    assert elapsed < processing_s + 0.5


async def test_longer_jobs_take_one_held_look_per_max_wait(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A job outlasting the server's max wait is looked at again, once per hold."""
    service = start_service(latency=(1.2, 1.2), max_wait=0.5)
    client = make_client(service.base_url, poll=PollPolicy())
    result = await client.run_job(input=CLIP, kind="video", timeout=20)
    assert result.job.status is JobStatus.SUCCEEDED
    assert 3 <= client.stats.by_route["GET /jobs/{id}"] <= 4


@pytest.mark.parametrize(
    ("max_wait", "use_server_wait"),
    [(0.0, True), (20.0, False)],
    ids=["server-offers-no-wait", "client-turns-it-off"],
)
async def test_without_held_looks_the_client_polls(
    start_service: StartService, make_client: MakeClient, max_wait: float, use_server_wait: bool
) -> None:
    """No Job-Wait-Max (like real Ittybit), or use_server_wait=False: ordinary paced polls."""
    service = start_service(latency=(1.0, 1.0), max_wait=max_wait)
    poll = PollPolicy(
        initial=0.1, max_interval=0.2, use_progress=False, use_server_wait=use_server_wait
    )
    client = make_client(service.base_url, poll=poll)
    result = await client.run_job(input=CLIP, kind="video", timeout=20)
    assert result.job.status is JobStatus.SUCCEEDED
    # Paced: a poll every 0.1-0.2 s over ~1 s, not one held look and not a busy loop.
    assert 4 <= client.stats.by_route["GET /jobs/{id}"] <= 12


async def test_held_wait_keeps_the_deadline(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A hold never outlasts the caller's deadline: a hung job raises on time."""
    service = start_service(hang_rate=1.0)
    client = make_client(service.base_url, poll=PollPolicy())
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        await client.run_job(input=CLIP, kind="video", timeout=1.0)
    assert 1.0 <= time.monotonic() - started < 2.5


async def test_held_looks_leave_connections_for_creates(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Held looks never take the whole pool: with them all held, a create still goes through."""
    service = start_service(hang_rate=1.0, max_wait=60.0)
    poll = PollPolicy(initial=0.05, max_interval=0.1, use_progress=False)
    client = make_client(service.base_url, poll=poll, max_connections=2)
    hung = [await client.create_job(input=f"{CLIP}?n={n}", kind="video") for n in range(2)]
    waits = [asyncio.create_task(client.wait_for_job(job, timeout=30)) for job in hung]
    try:
        # Every wait has looked once, and one of them (past the held looks' share) polls on.
        for _ in range(200):
            if client.stats.by_route["GET /jobs/{id}"] >= 4:
                break
            await asyncio.sleep(0.05)
        assert client.stats.by_route["GET /jobs/{id}"] >= 4
        # Held for a minute were they given every connection; the test's bound is far shorter.
        async with asyncio.timeout(10):
            created = await client.create_job(input=f"{CLIP}?n=new", kind="video")
        assert not created.status.is_terminal
        assert not any(wait.done() for wait in waits)
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
