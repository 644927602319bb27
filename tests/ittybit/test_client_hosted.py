"""The client against the hosted profile: documented routes only, few polls, facts from the job."""

from __future__ import annotations

import pytest
from ittybit_client_helpers import (
    DOCUMENTED_ROUTES,
    HOSTED_KEY,
    MakeClient,
    StartService,
    requests_seen,
)

from media_assets.ittybit import JobStatus, PollPolicy, UnsupportedOperation

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


async def test_a_standalone_probe_answered_waiting_is_unsupported(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Ittybit answers a probe task waiting with no way to read it back: the client says so."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    with pytest.raises(UnsupportedOperation, match="probe task of a job"):
        await client.probe(CLIP)
    assert requests_seen(service) == {"POST /tasks": 1}


async def test_a_job_reports_the_media_facts_of_its_input(
    start_service: StartService, make_client: MakeClient
) -> None:
    """The job's own probe task carries the input's facts: no separate probe is needed."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    result = await client.run_job(input=CLIP, kind="video", timeout=20)
    probed = result.job.input_file
    assert probed is not None
    assert (probed.kind, probed.codecs.get("audio")) == ("video", "aac")
    assert set(requests_seen(service)) <= DOCUMENTED_ROUTES


async def test_polling_a_two_second_job_takes_at_most_six_requests(
    start_service: StartService, make_client: MakeClient
) -> None:
    """With default polling and per-task progress, a 2 s job costs create plus at most 5 looks."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY, latency=(2.0, 2.0))
    client = make_client(service.base_url, api_key=HOSTED_KEY, poll=PollPolicy())
    result = await client.run_job(input=CLIP, kind="video", timeout=30)
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.requests <= 6
    assert set(requests_seen(service)) <= DOCUMENTED_ROUTES


async def test_an_output_destination_is_reported_by_the_export_task(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A job created with output s3://… names that destination in its export task's output."""
    service = start_service(compat="hosted", api_key=HOSTED_KEY)
    client = make_client(service.base_url, api_key=HOSTED_KEY)
    destination = "s3://deliveries/library/clip.mp4"
    result = await client.run_job(input=CLIP, kind="video", output=destination, timeout=20)
    exported = result.job.exported_file
    assert exported is not None and exported.url == destination
    assert result.job.output is not None and result.job.output.startswith("http")
