"""The service restarted (child process) while the client waits: the wait survives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ittybit_client_helpers import MakeClient

from media_assets.ittybit import Job, JobStatus, PollPolicy, RetryPolicy
from media_assets.local_ittybit import LocalService

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_wait_survives_a_restart_of_the_service_mid_job(
    subprocess_service: Callable[..., LocalService], make_client: MakeClient, kill: bool
) -> None:
    """Transport errors during a restart (graceful or crash) are retried; the job succeeds."""
    local = subprocess_service(latency=(1.0, 1.0))
    client = make_client(
        local.base_url,
        # Poll often so some polls surely land while the service is down.
        poll=PollPolicy(initial=0.1, max_interval=0.2, use_progress=False, use_server_wait=False),
        retry=RetryPolicy(attempts=40, timeout=60.0, wait_initial=0.1, wait_max=0.5),
    )
    created = asyncio.Event()
    jobs: list[Job] = []

    def on_created(job: Job) -> None:
        jobs.append(job)
        created.set()

    task = asyncio.create_task(
        client.run_job(
            input="https://media.example/restart.mp4",
            kind="video",
            timeout=60,
            on_created=on_created,
        )
    )
    await asyncio.wait_for(created.wait(), timeout=10)
    await asyncio.sleep(0.3)  # the job is processing and being polled
    await asyncio.to_thread(local.restart, kill=kill)
    result = await asyncio.wait_for(task, timeout=60)
    assert result.job.id == jobs[0].id
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.retries >= 1  # some polls failed while the service was down


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_held_wait_survives_a_restart_of_the_service_mid_job(
    subprocess_service: Callable[..., LocalService], make_client: MakeClient, kill: bool
) -> None:
    """A wait held by the service when it restarts goes on after it; the job succeeds."""
    local = subprocess_service(latency=(1.5, 1.5))
    client = make_client(
        local.base_url,
        poll=PollPolicy(),  # the default: held looks, as the service offers them
        retry=RetryPolicy(attempts=40, timeout=60.0, wait_initial=0.1, wait_max=0.5),
    )
    created = asyncio.Event()
    task = asyncio.create_task(
        client.run_job(
            input="https://media.example/restart-held.mp4",
            kind="video",
            timeout=60,
            on_created=lambda _: created.set(),
        )
    )
    await asyncio.wait_for(created.wait(), timeout=10)
    await asyncio.sleep(0.3)  # the job is processing; the client's look is held
    await asyncio.to_thread(local.restart, kill=kill)
    result = await asyncio.wait_for(task, timeout=60)
    assert result.job.status is JobStatus.SUCCEEDED
