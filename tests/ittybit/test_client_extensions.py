"""Local extensions are used only where advertised; against the hosted profile, never."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from ittybit_client_helpers import (
    DOCUMENTED_ROUTES,
    HOSTED_KEY,
    MakeClient,
    StartService,
    requests_seen,
    service_job,
)

from media_assets.ittybit import (
    DeadlineExceeded,
    IttybitClient,
    JobStatus,
    NotFoundError,
    UnsupportedOperation,
)
from media_assets.ittybit.extensions import ServerExtensions

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(200, headers=headers)


def test_the_offered_hold_is_read_from_job_wait_max() -> None:
    """``Local-Extensions: job-wait`` with ``Job-Wait-Max`` is the longest hold offered."""
    offers = ServerExtensions()
    offers.note(_response({"Local-Extensions": "job-wait, job-cancel", "Job-Wait-Max": "7.5"}))
    assert (offers.wait_max, offers.cancel) == (7.5, True)


def test_job_wait_max_alone_still_offers_holds() -> None:
    """A server that predates Local-Extensions offers holds with Job-Wait-Max alone."""
    offers = ServerExtensions()
    offers.note(_response({"Job-Wait-Max": "20"}))
    assert (offers.wait_max, offers.cancel) == (20.0, False)


def test_an_advertisement_without_job_wait_offers_no_hold() -> None:
    """Listing extensions without job-wait withdraws holds, whatever Job-Wait-Max says."""
    offers = ServerExtensions()
    offers.note(_response({"Local-Extensions": "job-cancel", "Job-Wait-Max": "20"}))
    assert (offers.wait_max, offers.cancel) == (0.0, True)


def test_a_response_without_the_headers_withdraws_every_offer() -> None:
    """A server that stops advertising (e.g. restarted as the hosted profile) gets none used."""
    offers = ServerExtensions()
    offers.note(_response({"Local-Extensions": "job-wait, job-cancel", "Job-Wait-Max": "20"}))
    offers.note(_response({}))
    assert (offers.seen, offers.wait_max, offers.cancel) == (True, 0.0, False)


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_header_offering_no_positive_hold_is_no_offer(value: str) -> None:
    """A malformed, zero or negative ``Job-Wait-Max`` offers nothing."""
    offers = ServerExtensions()
    offers.note(_response({"Job-Wait-Max": value}))
    assert offers.wait_max == 0.0


async def test_cancel_against_the_hosted_profile_sends_nothing(
    start_service: StartService, make_client: MakeClient
) -> None:
    """cancel_job where cancel is not advertised raises UnsupportedOperation; no request goes."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY, hang_rate=1.0)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    job = await client.create_job(input=CLIP, kind="video")
    with pytest.raises(UnsupportedOperation, match="runs on"):
        await client.cancel_job(job.id)
    assert requests_seen(service) == {"POST /jobs": 1}


async def test_a_fresh_client_looks_at_the_job_before_deciding(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A client that has seen no job response learns the offer with GET /jobs/{id} first."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY, hang_rate=1.0)
    job = await make_client(service.base_url, api_key=HOSTED_KEY).create_job(
        input=CLIP, kind="video"
    )
    fresh = make_client(service.base_url, api_key=HOSTED_KEY)
    with pytest.raises(UnsupportedOperation):
        await fresh.cancel_job(job.id)
    assert requests_seen(service) == {"POST /jobs": 1, "GET /jobs/{job_id}": 1}


async def test_a_missed_deadline_on_the_hosted_profile_stays_on_documented_routes(
    start_service: StartService, make_client: MakeClient
) -> None:
    """run_job past its deadline raises DeadlineExceeded; the job runs on, nothing else is sent."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY, hang_rate=1.0)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    with pytest.raises(DeadlineExceeded) as caught:
        await client.run_job(input=CLIP, kind="video", timeout=0.5)
    assert caught.value.job is not None
    assert set(requests_seen(service)) <= DOCUMENTED_ROUTES
    still = await client.get_job(caught.value.job.id)
    assert still.status is JobStatus.PROCESSING


async def test_a_terminated_wait_on_the_hosted_profile_stays_on_documented_routes(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A cancelled run_job (a terminated run) sends no cancel where none is offered."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY, hang_rate=1.0)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    created = asyncio.Event()
    task = asyncio.create_task(
        client.run_job(input=CLIP, kind="video", timeout=60, on_created=lambda _: created.set())
    )
    await asyncio.wait_for(created.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert set(requests_seen(service)) <= DOCUMENTED_ROUTES


async def test_cancel_where_advertised_cancels(start_service: StartService) -> None:
    """On the local profile, which advertises job-cancel, a fresh client's cancel goes through."""
    service = start_service(hang_rate=1.0)
    async with IttybitClient(base_url=service.base_url) as creator:
        job = await creator.create_job(input=CLIP, kind="video")
    async with IttybitClient(base_url=service.base_url) as fresh:
        cancelled = await fresh.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert service_job(service.base_url, job.id)["status"] == "cancelled"


async def test_cancel_of_an_unknown_job_is_not_found(client: IttybitClient) -> None:
    """Cancelling a job that does not exist is NotFoundError, whatever the service offers."""
    with pytest.raises(NotFoundError) as caught:
        await client.cancel_job("job_missing")
    assert caught.value.kind == "job_not_found"
