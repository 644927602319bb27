"""429 handling, the retry hook and log, and the client's own rate limiter, over real HTTP."""

from __future__ import annotations

import logging
import time

import pytest
from ittybit_client_helpers import MakeClient, StartService, service_stats

from media_assets.ittybit import RateLimit, RateLimited, RetryEvent, RetryPolicy, ServerError
from media_assets.ittybit import retry as retry_module

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


async def test_429_waits_retry_after_then_succeeds(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Above the service's rate the client waits the Retry-After it was given, then succeeds."""
    service = start_service(rate_limit=1.0)
    events: list[RetryEvent] = []
    client = make_client(service.base_url, on_retry=events.append)
    job = await client.create_job(input=CLIP, kind="video")
    started = time.monotonic()
    again = await client.get_job(job.id)  # the bucket is empty: 429, Retry-After: 1
    elapsed = time.monotonic() - started
    assert again.id == job.id
    assert service_stats(service.base_url)["responses"]["429"] == 1
    assert len(events) == 1
    assert events[0].retry_after is True
    assert events[0].wait == 1.0  # the header's value exactly, no jitter
    assert elapsed >= events[0].wait


async def test_retry_event_describes_the_retry(
    start_service: StartService, make_client: MakeClient
) -> None:
    """The RetryEvent names the request, the retry number and the 429 it follows."""
    service = start_service(rate_limit=1.0)
    events: list[RetryEvent] = []
    client = make_client(service.base_url, on_retry=events.append)
    await client.create_job(input=CLIP, kind="audio")
    await client.create_job(input=CLIP, kind="audio")
    (event,) = events
    assert (event.request, event.retry_number) == ("POST /jobs", 1)
    assert "429 rate_limited" in event.error


async def test_retries_are_logged(
    start_service: StartService, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry is a WARNING on ``media_assets.ittybit`` saying it obeys Retry-After."""
    caplog.set_level(logging.WARNING, logger="media_assets.ittybit")
    service = start_service(rate_limit=1.0)
    client = make_client(service.base_url)
    await client.create_job(input=CLIP, kind="video")
    await client.create_job(input=CLIP, kind="video")
    records = [r for r in caplog.records if r.name == "media_assets.ittybit"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert "POST /jobs" in records[0].getMessage()
    assert "Retry-After" in records[0].getMessage()


async def test_backoff_retries_are_not_flagged_as_retry_after(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A 5xx retry uses backoff, and its event says so."""
    service = start_service(error_rate=1.0)
    events: list[RetryEvent] = []
    retry = RetryPolicy(attempts=2, wait_initial=0.05, wait_jitter=0)
    client = make_client(service.base_url, retry=retry, on_retry=events.append)
    with pytest.raises(ServerError):
        await client.get_job("job_1")
    assert [(event.retry_after, event.wait) for event in events] == [(False, 0.05)]


async def test_429_with_retries_off_raises_rate_limited(
    start_service: StartService, make_client: MakeClient
) -> None:
    """With retries switched off a 429 surfaces as RateLimited carrying Retry-After."""
    retry_module.set_active(False)
    service = start_service(rate_limit=1.0)
    client = make_client(service.base_url)
    await client.create_job(input=CLIP, kind="video")
    with pytest.raises(RateLimited) as caught:
        await client.create_job(input=CLIP, kind="video")
    assert caught.value.retry_after == 1.0


async def test_rate_limit_spaces_requests(
    start_service: StartService, make_client: MakeClient
) -> None:
    """RateLimit(5/s, burst 1): 10 requests take at least 9 intervals of 0.2 s."""
    service = start_service()
    client = make_client(service.base_url, rate_limit=RateLimit(requests_per_second=5, burst=1))
    started = time.monotonic()
    job = await client.create_job(input=CLIP, kind="video")
    for _ in range(9):
        await client.get_job(job.id)
    elapsed = time.monotonic() - started
    assert 1.6 <= elapsed < 4.0
    assert client.stats.requests == 10


async def test_rate_limit_default_burst_is_one_seconds_worth(
    start_service: StartService, make_client: MakeClient
) -> None:
    """RateLimit(5/s) lets 5 requests go at once, then spaces the next 5 over ~1 s."""
    service = start_service()
    client = make_client(service.base_url, rate_limit=RateLimit(requests_per_second=5))
    # Timed from the first request: the bucket drains while it runs, however long it takes.
    started = time.monotonic()
    job = await client.create_job(input=CLIP, kind="video")
    marks: list[float] = []
    for _ in range(9):
        await client.get_job(job.id)
        marks.append(time.monotonic() - started)
    assert marks[3] < 0.5  # the burst: the create and four looks
    assert marks[-1] >= 0.9  # then one every 0.2 s


async def test_rate_limit_keeps_the_service_from_answering_429(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A client limited below the service's rate never sees a 429."""
    service = start_service(rate_limit=10.0)
    client = make_client(service.base_url, rate_limit=RateLimit(requests_per_second=8, burst=1))
    job = await client.create_job(input=CLIP, kind="video")
    for _ in range(15):
        await client.get_job(job.id)
    assert client.stats.retries == 0
    assert "429" not in service_stats(service.base_url)["responses"]


def test_rate_limit_must_be_positive() -> None:
    """A zero or negative rate is refused."""
    with pytest.raises(ValueError):
        RateLimit(requests_per_second=0)


def test_rate_limit_burst_must_allow_one_request() -> None:
    """A burst below one request, which could never let a request through, is refused."""
    with pytest.raises(ValueError):
        RateLimit(requests_per_second=5, burst=0)


class CountingLimiter:
    """A stand-in for a shared limiter: counts the requests it let through."""

    def __init__(self) -> None:
        self.granted = 0

    async def acquire(self) -> None:
        self.granted += 1


async def test_given_limiter_is_awaited_before_every_request(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A limiter passed to the client (e.g. one shared by many processes) gates each request."""
    service = start_service()
    limiter = CountingLimiter()
    client = make_client(service.base_url, limiter=limiter)
    job = await client.create_job(input=CLIP, kind="video")
    for _ in range(3):
        await client.get_job(job.id)
    assert limiter.granted == client.stats.requests == 4
