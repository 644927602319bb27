"""One file's chain against the hosted profile: one ingest job, the right kind, honest deadlines."""

from __future__ import annotations

import asyncio
import time

import pytest
from chain_helpers import HOSTED_KEY, StartHosted, prior_of, run_chain
from static_http import url_of

from media_assets.engine.journal import MemoryJournal
from media_assets.local_ittybit import RunningService
from media_assets.results import ALL_STAGES, ResultStatus, Stage

pytestmark = pytest.mark.anyio

DOCUMENTED_ROUTES = frozenset({"POST /jobs", "GET /jobs", "GET /jobs/{job_id}", "POST /tasks"})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def requests_seen(service: RunningService) -> dict[str, int]:
    return dict(service.app.state.service.stats.requests)


def jobs_made(service: RunningService) -> list[dict[str, object]]:
    """Every job the service holds, oldest first (read past the API)."""
    return service.app.state.service.store.select_jobs(
        filters={}, above_id=None, below_id=None, descending=False, limit=1000
    )


async def test_a_video_is_ingested_with_one_job_and_no_probe_task(
    start_hosted: StartHosted, media_url: str
) -> None:
    """Against the hosted API every stage succeeds, with no standalone probe and no extension."""
    service = start_hosted()
    run = await run_chain(
        service, url_of(media_url, "clip.mp4"), api_key=HOSTED_KEY, journal=MemoryJournal()
    )
    for stage in ALL_STAGES:
        if stage in run.reports:
            assert run.status(stage) == ResultStatus.SUCCEEDED, run.reports[stage].result
    seen = requests_seen(service)
    assert "POST /tasks" not in seen
    assert set(seen) <= DOCUMENTED_ROUTES
    jobs = jobs_made(service)
    assert len(jobs) == 4  # ingest + three deliverables, nothing else
    assert jobs[0]["kind"] == "video"
    ingested = run.metadata(Stage.INGESTED)
    assert (ingested["media_kind"], ingested["has_audio"]) == ("video", True)
    assert (ingested["media_kind_guess"], ingested["media_kind_basis"]) == ("video", "extension")


@pytest.mark.parametrize(
    ("name", "guessed", "actual", "wasted_status"),
    [
        ("tone-really.mp4", "video", "audio", "failed"),  # a video job cannot be made of an mp3
        ("clip-really.mp3", "audio", "video", "succeeded"),  # an audio job on a video can
        ("picture", "video", "image", "failed"),  # no extension: video, the default guess
    ],
)
async def test_a_wrong_guess_is_recorded_and_the_right_job_made(
    start_hosted: StartHosted,
    media_url: str,
    name: str,
    guessed: str,
    actual: str,
    wasted_status: str,
) -> None:
    """When the job's probe says another kind, the chain says so and makes the right job."""
    service = start_hosted()
    run = await run_chain(
        service, url_of(media_url, name), api_key=HOSTED_KEY, journal=MemoryJournal()
    )
    assert run.status(Stage.INGESTED) == ResultStatus.SUCCEEDED, run.reports[Stage.INGESTED]
    ingested = run.metadata(Stage.INGESTED)
    assert (ingested["media_kind_guess"], ingested["media_kind"]) == (guessed, actual)
    assert ingested["misguessed_job_status"] == wasted_status
    assert f"says {actual}: this run made" in str(ingested["misguess"])
    first, second = jobs_made(service)[:2]
    assert first["id"] == ingested["misguessed_job_id"]
    assert second["id"] == ingested["job_id"]
    for stage, report in run.reports.items():
        assert report.result.status in (ResultStatus.SUCCEEDED, ResultStatus.NOT_APPLICABLE), stage


async def test_a_retry_after_a_wrong_guess_goes_straight_to_the_right_job(
    start_hosted: StartHosted, media_url: str
) -> None:
    """A run that recorded nothing (it crashed) is retried on the right kind, re-attaching."""
    service = start_hosted()
    journal = MemoryJournal()
    url = url_of(media_url, "tone-really.mp4")
    first = await run_chain(service, url, api_key=HOSTED_KEY, journal=journal)
    made = len(jobs_made(service))
    again = await run_chain(service, url, api_key=HOSTED_KEY, journal=journal)
    ingested = again.metadata(Stage.INGESTED)
    assert (ingested["media_kind_guess"], ingested["media_kind_basis"]) == ("audio", "recorded")
    assert "misguess" not in ingested
    assert ingested["job_id"] == first.metadata(Stage.INGESTED)["job_id"]
    assert len(jobs_made(service)) == made  # every stage re-attached; nothing new was made


async def test_a_deadline_on_the_hosted_api_leaves_the_job_and_says_so(
    start_hosted: StartHosted,
) -> None:
    """Past its deadline a stage fails deadline_exceeded with the job id; nothing is cancelled."""
    service = start_hosted(engine="simulate", latency=(1.5, 1.5))
    journal = MemoryJournal()
    url = "https://media.example/library/slow.mp4"
    run = await run_chain(
        service, url, api_key=HOSTED_KEY, journal=journal, deadlines={Stage.INGESTED: 0.4}
    )
    result = run.reports[Stage.INGESTED].result
    assert (result.status, result.error_kind) == (ResultStatus.FAILED, "deadline_exceeded")
    assert result.job_id is not None and result.job_id in (result.error_message or "")
    assert "left running" in (result.error_message or "")
    assert "re-attaches" in (result.error_message or "")
    assert set(requests_seen(service)) <= DOCUMENTED_ROUTES
    job = service.app.state.service.repository.get(result.job_id)
    assert job["status"] in ("processing", "succeeded")  # it ran on

    # The next run finds it finished and uses it: no second ingest job.
    deadline = time.monotonic() + 10
    while service.app.state.service.repository.get(result.job_id)["status"] != "succeeded":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    prior = {Stage.INGESTED: prior_of(run.reports[Stage.INGESTED])}
    again = await run_chain(service, url, api_key=HOSTED_KEY, journal=journal, prior=prior)
    assert again.status(Stage.INGESTED) == ResultStatus.SUCCEEDED
    assert again.reports[Stage.INGESTED].result.job_id == result.job_id
    ingest_jobs = [job for job in jobs_made(service) if job["input"] == url]
    assert len(ingest_jobs) == 1


async def test_outputs_are_delivered_under_the_output_uri(
    start_hosted: StartHosted, media_url: str
) -> None:
    """With an output URI every job delivers to <uri>/<file>/<stage>.<ext>, and says where."""
    service = start_hosted()
    run = await run_chain(
        service,
        url_of(media_url, "clip.mp4"),
        api_key=HOSTED_KEY,
        journal=MemoryJournal(),
        output_uri="s3://deliveries/library",
    )
    expected = {
        Stage.INGESTED: "ingested.mp4",
        Stage.THUMBNAIL: "thumbnail.webp",
        Stage.AUDIO: "audio.mp3",
        Stage.TRANSCODED: "transcoded.mp4",
    }
    for stage, name in expected.items():
        result = run.reports[stage].result
        assert result.status == ResultStatus.SUCCEEDED, result
        assert result.delivered_to == f"s3://deliveries/library/file-1/{name}"
        delivered = service.config.s3_dir / "deliveries" / "library" / "file-1" / name
        assert delivered.stat().st_size > 0, delivered
        assert result.output_url is not None and result.output_url.startswith("http")
