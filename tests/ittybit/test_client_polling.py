"""Waiting for jobs: progress-aware polling, deadlines, failures and cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest
from ittybit_client_helpers import MakeClient, StartService, service_job

from media_assets.ittybit import (
    DeadlineExceeded,
    IttybitClient,
    Job,
    JobFailed,
    JobStatus,
    PollPolicy,
)
from media_assets.ittybit.polling import PollSchedule

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


def _job(status: str, *, progress: int | None = None, started_s_ago: float | None = None) -> Job:
    started_at = None if started_s_ago is None else int((time.time() - started_s_ago) * 1000)
    return Job(
        id="job_1",
        kind="video",
        status=status,
        input=CLIP,
        progress=progress,
        started_at=started_at,
    )


def test_poll_schedule_backs_off_while_queued() -> None:
    """Without progress the delay grows by ``multiplier`` up to ``max_interval``."""
    schedule = PollSchedule(PollPolicy(initial=0.5, multiplier=2.0, max_interval=3.0))
    delays = [schedule.first_delay()] + [schedule.next_delay(_job("queued")) for _ in range(4)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def _schedule_after(seconds: float, **policy: float) -> PollSchedule:
    schedule = PollSchedule(PollPolicy(max_interval=10.0, **policy))  # type: ignore[arg-type]
    schedule.started = time.monotonic() - seconds
    return schedule


def test_poll_schedule_refines_a_distant_finish_estimate() -> None:
    """25% done after 1 s (about 3 s to go): the next look comes before the finish, not too soon."""
    delay = _schedule_after(1.0).next_delay(_job("processing", progress=25, started_s_ago=1.0))
    # The estimate is ~2.92 s to go; the refining look comes at 85% of it, not at the finish.
    assert 2.3 <= delay <= 2.7


def test_poll_schedule_lands_just_after_a_near_finish() -> None:
    """80% done after 1 s (about 0.25 s to go): the next look is just after the predicted end."""
    schedule = _schedule_after(1.0, finish_margin=0.05)
    delay = schedule.next_delay(_job("processing", progress=80, started_s_ago=1.0))
    assert 0.2 <= delay <= 0.35


def test_poll_schedule_distrusts_a_skewed_server_clock() -> None:
    """A started_at far in the past (clock skew) is ignored in favour of our own waiting time."""
    schedule = _schedule_after(1.0, finish_margin=0.05)
    skewed = _job("processing", progress=80, started_s_ago=3600.0)
    assert 0.2 <= schedule.next_delay(skewed) <= 0.35


def test_poll_schedule_ignores_progress_when_told_to() -> None:
    """``use_progress=False`` falls back to plain backoff."""
    schedule = PollSchedule(PollPolicy(initial=0.5, multiplier=2.0, use_progress=False))
    schedule.first_delay()
    assert schedule.next_delay(_job("processing", progress=50, started_s_ago=1.0)) == 1.0


async def test_progress_aware_polling_needs_few_requests(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A 1-3 s job is created and awaited in at most 6 requests, noticed promptly."""
    service = start_service(latency=(1.0, 3.0))
    client = make_client(service.base_url, poll=PollPolicy(use_server_wait=False))
    started = time.monotonic()
    result = await client.run_job(input=CLIP, kind="video", timeout=20)
    elapsed = time.monotonic() - started
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.requests <= 6
    processing_s = (result.job.processing_ms or 0) / 1000
    assert elapsed <= processing_s + 1.5  # noticed soon after it finished


async def test_run_job_deadline_on_hung_job_raises_and_cancels_remotely(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A hung job raises DeadlineExceeded on time and run_job cancels it on the service."""
    service = start_service(hang_rate=1.0)
    client = make_client(service.base_url)
    created: list[Job] = []
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        await client.run_job(input=CLIP, kind="video", timeout=1.0, on_created=created.append)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.5
    assert caught.value.job is not None and caught.value.job.id == created[0].id
    assert service_job(service.base_url, created[0].id)["status"] == "cancelled"


async def test_wait_for_job_deadline_leaves_the_job_running(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``wait_for_job`` alone only stops waiting; the remote job keeps processing."""
    service = start_service(hang_rate=1.0)
    client = make_client(service.base_url)
    job = await client.create_job(input=CLIP, kind="video")
    with pytest.raises(DeadlineExceeded):
        await client.wait_for_job(job, timeout=0.5)
    assert service_job(service.base_url, job.id)["status"] == "processing"


async def test_failed_job_raises_job_failed_with_kind_and_reason(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A job the service fails raises JobFailed carrying the job, its kind and reason."""
    service = start_service(fail_match=r"broken")
    client = make_client(service.base_url)
    url = "https://media.example/broken.mp4"
    with pytest.raises(JobFailed) as caught:
        await client.run_job(input=url, kind="video", timeout=10)
    failed = caught.value
    assert failed.kind == "processing_failed"
    assert url in failed.reason
    assert failed.job.status is JobStatus.FAILED
    assert failed.requests is not None and failed.requests >= 2


async def test_wait_without_raising_returns_the_failed_job(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``raise_on_failure=False`` hands back the failed job instead of raising."""
    service = start_service(fail_match=r"broken")
    client = make_client(service.base_url)
    job = await client.create_job(input="https://media.example/broken.mp4", kind="audio")
    done = await client.wait_for_job(job, timeout=10, raise_on_failure=False)
    assert done.status is JobStatus.FAILED
    assert done.error is not None and done.error.kind == "processing_failed"


async def test_cancelling_the_awaiting_task_cancels_the_remote_job(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Cancelling the asyncio task awaiting run_job cancels the job on the service."""
    service = start_service(hang_rate=1.0)
    client = make_client(service.base_url)
    created = asyncio.Event()
    jobs: list[Job] = []

    def on_created(job: Job) -> None:
        jobs.append(job)
        created.set()

    task = asyncio.create_task(
        client.run_job(input=CLIP, kind="video", timeout=60, on_created=on_created)
    )
    await asyncio.wait_for(created.wait(), timeout=10)
    await asyncio.sleep(0.2)  # let it poll a little
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert service_job(service.base_url, jobs[0].id)["status"] == "cancelled"


async def test_cancel_job_cancels_a_running_job(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``cancel_job`` on the local service cancels a processing job; waiting then fails."""
    service = start_service(hang_rate=1.0)
    client: IttybitClient = make_client(service.base_url)
    job = await client.create_job(input=CLIP, kind="video")
    cancelled = await client.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(JobFailed) as caught:
        await client.wait_for_job(job.id, timeout=5)
    assert caught.value.job.status is JobStatus.CANCELLED
