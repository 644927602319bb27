"""Creating, reading, replaying and listing jobs against the real local service (simulate)."""

from __future__ import annotations

import time

import pytest
from ittybit_client_helpers import MakeClient, StartService, service_stats

from media_assets.ittybit import (
    IdempotencyConflict,
    IttybitClient,
    Job,
    JobKind,
    JobStatus,
    NotFoundError,
    idempotency_key,
)
from media_assets.local_ittybit import RunningService

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


async def test_create_job_returns_a_queued_job_with_ms_timestamps(client: IttybitClient) -> None:
    """``create_job`` returns a Job model echoing the request, timestamped in Unix ms."""
    before_ms = time.time() * 1000
    job = await client.create_job(
        input=CLIP, kind=JobKind.VIDEO, options={"format": "mp4"}, metadata={"partition": "p1"}
    )
    assert isinstance(job, Job)
    assert job.id
    assert (job.input, job.kind, job.metadata) == (CLIP, "video", {"partition": "p1"})
    assert job.options["format"] == "mp4"
    assert job.status in (JobStatus.QUEUED, JobStatus.PROCESSING)
    assert job.created_at is not None
    # Milliseconds, not seconds: within a few seconds of now on the ms scale.
    assert before_ms - 5_000 <= job.created_at <= time.time() * 1000 + 5_000


async def test_wait_for_job_reaches_succeeded(client: IttybitClient) -> None:
    """``wait_for_job`` returns the job once it has succeeded, with its output and timings."""
    job = await client.create_job(input=CLIP, kind="video", options={"width": 640})
    done = await client.wait_for_job(job, timeout=10)
    assert done.status is JobStatus.SUCCEEDED
    assert done.progress == 100
    assert done.output is not None and done.output.startswith("http://127.0.0.1:")
    assert done.output_file is not None and done.output_file.width == 640
    assert done.processing_ms is not None and done.processing_ms >= 0


async def test_wait_for_job_accepts_a_job_id(client: IttybitClient) -> None:
    """``wait_for_job`` can start from a bare id."""
    job = await client.create_job(input=CLIP, kind="audio", options={"format": "mp3"})
    done = await client.wait_for_job(job.id, timeout=10)
    assert (done.id, done.status) == (job.id, JobStatus.SUCCEEDED)


async def test_get_job_reads_the_job_back(client: IttybitClient) -> None:
    """``get_job`` returns the same job by id."""
    job = await client.create_job(input=CLIP, kind="image", options={"format": "webp"})
    again = await client.get_job(job.id)
    assert (again.id, again.kind, again.input) == (job.id, "image", CLIP)


async def test_get_unknown_job_is_not_found(client: IttybitClient) -> None:
    """An unknown id raises NotFoundError with kind ``job_not_found``."""
    with pytest.raises(NotFoundError) as caught:
        await client.get_job("job_doesnotexist")
    assert caught.value.kind == "job_not_found"
    assert client.stats.requests == 1


async def test_run_job_returns_a_result_with_request_count(client: IttybitClient) -> None:
    """``run_job`` returns a JobResult with the finished job and the requests it took."""
    result = await client.run_job(input=CLIP, kind="video", options={"format": "mp4"}, timeout=10)
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.created is True
    assert result.retries == 0
    # One create plus at least one poll, and the client's own counter agrees.
    assert result.requests >= 2
    assert result.requests == client.stats.requests


async def test_idempotent_replay_returns_the_same_job(client: IttybitClient) -> None:
    """The same Idempotency-Key twice gives the same job; the replay is marked not created."""
    key = idempotency_key("partition-1", "ingested", {"format": "mp4"}, 0)
    first = await client.run_job(input=CLIP, kind="video", idempotency_key=key, timeout=10)
    second = await client.run_job(input=CLIP, kind="video", idempotency_key=key, timeout=10)
    assert second.job.id == first.job.id
    assert (first.created, second.created) == (True, False)
    assert second.job.status is JobStatus.SUCCEEDED


async def test_replay_creates_no_second_job_on_the_service(
    client: IttybitClient, service: RunningService
) -> None:
    """An Idempotency-Key replay leaves exactly one job on the service."""
    key = idempotency_key("partition-2", "audio")
    for _ in range(3):
        await client.create_job(input=CLIP, kind="audio", idempotency_key=key)
    assert service_stats(service.base_url)["jobs"]["total"] == 1


async def test_same_key_with_other_body_is_a_conflict_and_not_retried(
    client: IttybitClient, service: RunningService
) -> None:
    """Reusing a key with a different body raises IdempotencyConflict after one request."""
    key = idempotency_key("partition-3", "thumbnail")
    await client.create_job(input=CLIP, kind="image", idempotency_key=key)
    with pytest.raises(IdempotencyConflict) as caught:
        await client.create_job(
            input=CLIP, kind="image", options={"width": 320}, idempotency_key=key
        )
    assert caught.value.status_code == 422
    assert caught.value.kind == "idempotency_key_reused"
    assert client.stats.by_route["POST /jobs"] == 2
    assert client.stats.retries == 0
    assert service_stats(service.base_url)["requests"]["POST /jobs"] == 2


async def test_create_without_key_sends_a_fresh_key_each_time(client: IttybitClient) -> None:
    """Without an explicit key every create makes a new job."""
    first = await client.create_job(input=CLIP, kind="video")
    second = await client.create_job(input=CLIP, kind="video")
    assert first.id != second.id


async def _create_jobs(client: IttybitClient, count: int) -> list[str]:
    """Ids of ``count`` new jobs, oldest first."""
    return [
        (await client.create_job(input=f"https://media.example/{n}.mp4", kind="video")).id
        for n in range(count)
    ]


async def test_list_jobs_iterates_every_page_exactly_once(
    start_service: StartService, make_client: MakeClient
) -> None:
    """25 jobs listed with page_size 10 come back once each, over 3 page requests."""
    client = make_client(start_service(latency=(0.0, 0.0)).base_url)
    created = await _create_jobs(client, 25)
    listed = [job.id async for job in client.list_jobs(page_size=10)]
    assert len(listed) == 25
    assert set(listed) == set(created)
    assert listed == sorted(created, reverse=True)  # default order: newest first
    assert client.stats.by_route["GET /jobs"] == 3


async def test_list_jobs_ascending_order(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``order="asc"`` lists oldest first across pages."""
    client = make_client(start_service(latency=(0.0, 0.0)).base_url)
    created = await _create_jobs(client, 7)
    listed = [job.id async for job in client.list_jobs(order="asc", page_size=3)]
    assert listed == created


async def test_list_jobs_filters_by_kind(client: IttybitClient) -> None:
    """``kind=`` lists only jobs of that kind."""
    videos = {(await client.create_job(input=CLIP, kind="video")).id for _ in range(3)}
    audios = {(await client.create_job(input=CLIP, kind="audio")).id for _ in range(2)}
    listed = {job.id async for job in client.list_jobs(kind=JobKind.AUDIO, page_size=10)}
    assert listed == audios
    assert not listed & videos


async def test_list_jobs_filters_by_status(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``status=`` lists only jobs in that status."""
    service = start_service(fail_match=r"/broken/")
    client = make_client(service.base_url)
    good = [
        await client.create_job(input=f"https://m.example/ok/{n}.mp4", kind="video")
        for n in range(3)
    ]
    bad = [
        await client.create_job(input=f"https://m.example/broken/{n}.mp4", kind="video")
        for n in range(2)
    ]
    for job in good + bad:
        await client.wait_for_job(job, timeout=10, raise_on_failure=False)
    failed = {job.id async for job in client.list_jobs(status=JobStatus.FAILED)}
    succeeded = {job.id async for job in client.list_jobs(status="succeeded")}
    assert failed == {job.id for job in bad}
    assert succeeded == {job.id for job in good}
