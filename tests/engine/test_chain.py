"""One file's chain against the real local service: stage order, reuse, failures, generations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import Reports, ServiceView, file_task, run_chain
from media_clips import make_clip, make_still, make_tone

from media_assets.engine.chain import ChainSettings
from media_assets.ittybit import IttybitClient
from media_assets.local_ittybit import RunningService
from media_assets.results import ALL_STAGES, DOWNSTREAM, ResultStatus, Stage
from media_assets.sources import file_uri

pytestmark = pytest.mark.anyio

SUCCEEDED, FAILED = ResultStatus.SUCCEEDED, ResultStatus.FAILED
NOT_APPLICABLE = ResultStatus.NOT_APPLICABLE
ALL_SUCCEEDED = dict.fromkeys(ALL_STAGES, SUCCEEDED)


async def test_video_runs_four_stages_reported_ingested_first(
    client: IttybitClient, view: ServiceView
) -> None:
    """A video file's four stages succeed, ingested is reported first, one remote job each."""
    reports = Reports()
    assert await run_chain(client, file_task("clip.mp4"), reports) == []
    assert reports.stages()[0] == Stage.INGESTED
    assert sorted(reports.stages()) == sorted(ALL_STAGES)
    assert reports.statuses() == ALL_SUCCEEDED
    jobs = {job["metadata"]["stage"]: job for job in await view.jobs_of("clip.mp4")}
    assert sorted(jobs) == sorted(str(stage) for stage in ALL_STAGES)
    assert {job["status"] for job in jobs.values()} == {"succeeded"}
    for stage, report in reports.by_stage().items():
        assert report.result.job_id == jobs[str(stage)]["id"]


async def test_deliverables_are_made_from_the_ingested_file(
    client: IttybitClient, view: ServiceView
) -> None:
    """Thumbnail, audio and transcode read the ingested output, created once ingest has ended."""
    reports = Reports()
    await run_chain(client, file_task("clip.mp4"), reports)
    (ingest,) = await view.jobs_of("clip.mp4", Stage.INGESTED)
    assert ingest["input"] == "https://media.example/library/clip.mp4"
    for stage in DOWNSTREAM:
        (job,) = await view.jobs_of("clip.mp4", stage)
        assert job["input"] == ingest["output"], stage
        assert job["created_at"] >= ingest["finished_at"], stage


@pytest.mark.parametrize(
    ("name", "make", "not_applicable"),
    [
        ("tone.mp3", lambda path: make_tone(path), {Stage.THUMBNAIL, Stage.TRANSCODED}),
        ("still.png", lambda path: make_still(path), {Stage.AUDIO, Stage.TRANSCODED}),
        ("silent.mp4", lambda path: make_clip(path, audio=False), {Stage.AUDIO}),
    ],
    ids=["audio-only", "image", "silent-video"],
)
async def test_stages_the_media_cannot_feed_are_not_applicable(
    tmp_path: Path,
    start_service: Callable[..., RunningService],
    name: str,
    make: Callable[[Path], Path],
    not_applicable: set[Stage],
) -> None:
    """Probed by the ffmpeg engine, stages the media cannot feed are not applicable, with no job."""
    source = make(tmp_path / name)
    service = start_service(engine="ffmpeg", workers=2, allow_roots=(tmp_path,))
    reports = Reports()
    async with IttybitClient(base_url=service.base_url) as client:
        failed = await run_chain(client, file_task(name, input_url=file_uri(source)), reports)
    assert failed == []
    expected = {
        stage: NOT_APPLICABLE if stage in not_applicable else SUCCEEDED for stage in ALL_STAGES
    }
    assert reports.statuses() == expected
    made = {job["metadata"]["stage"] for job in await ServiceView(service.base_url).jobs()}
    assert made == {str(stage) for stage in ALL_STAGES if stage not in not_applicable}


async def test_failed_ingest_fails_the_rest_without_their_jobs(
    start_service: Callable[..., RunningService], make_client: Callable[..., IttybitClient]
) -> None:
    """An ingest that fails reports the other stages upstream_failed and creates no job for them."""
    service = start_service(fail_match="broken")
    reports = Reports()
    failed = await run_chain(make_client(service), file_task("broken.mp4"), reports)
    assert [result.stage for result in failed] == [Stage.INGESTED, *DOWNSTREAM]
    ingested = reports.by_stage()[Stage.INGESTED].result
    assert (ingested.status, ingested.error_kind) == (FAILED, "processing_failed")
    for stage in DOWNSTREAM:
        result = reports.by_stage()[stage].result
        assert (result.status, result.error_kind) == (FAILED, "upstream_failed"), stage
        assert result.job_id is None, stage
    jobs = await ServiceView(service.base_url).jobs()
    assert [(job["metadata"]["stage"], job["status"]) for job in jobs] == [("ingested", "failed")]


async def test_unreadable_source_fails_its_one_ingest_job_and_nothing_more(
    tmp_path: Path, start_service: Callable[..., RunningService]
) -> None:
    """A source the service cannot probe fails its ingest job; no other job is made for it."""
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    service = start_service(engine="ffmpeg", allow_roots=(tmp_path,))
    reports = Reports()
    async with IttybitClient(base_url=service.base_url) as client:
        await run_chain(client, file_task("empty.mp4", input_url=file_uri(empty)), reports)
    ingested = reports.by_stage()[Stage.INGESTED].result
    assert (ingested.status, ingested.error_kind) == (FAILED, "invalid_input")
    assert "empty.mp4" in (ingested.error_message or "")
    assert set(reports.statuses().values()) == {FAILED}
    jobs = await ServiceView(service.base_url).jobs()
    assert [(job["metadata"]["stage"], job["status"]) for job in jobs] == [("ingested", "failed")]


async def test_prior_success_is_reported_cached_without_a_new_job(
    client: IttybitClient, view: ServiceView
) -> None:
    """With the same source version and options, every earlier success is reused as cached."""
    first = Reports()
    await run_chain(client, file_task("clip.mp4"), first)
    second = Reports()
    assert await run_chain(client, file_task("clip.mp4", prior=first.priors()), second) == []
    assert second.stages()[0] == Stage.INGESTED
    for stage, report in second.by_stage().items():
        assert report.result.cached is True, stage
        assert report.result.job_id == first.by_stage()[stage].result.job_id, stage
    assert (await view.stats())["jobs"]["total"] == 4


async def test_changed_options_rerun_only_that_stage(
    client: IttybitClient, view: ServiceView
) -> None:
    """New options for one stage make one new job for it; the other stages stay cached."""
    first = Reports()
    await run_chain(client, file_task("clip.mp4"), first)
    second = Reports()
    overrides = {Stage.THUMBNAIL: {"width": 320}}
    task = file_task("clip.mp4", prior=first.priors(), overrides=overrides)
    assert await run_chain(client, task, second) == []
    cached = {stage for stage, report in second.by_stage().items() if report.result.cached}
    assert cached == {Stage.INGESTED, Stage.AUDIO, Stage.TRANSCODED}
    thumbnails = await view.jobs_of("clip.mp4", Stage.THUMBNAIL)
    assert [job["options"]["width"] for job in thumbnails] == [640, 320]
    assert second.by_stage()[Stage.THUMBNAIL].result.job_id == thumbnails[1]["id"]


async def test_changed_source_version_is_processed_again(
    client: IttybitClient, view: ServiceView
) -> None:
    """A prior success for an older source version is not reused: four new jobs are made."""
    first = Reports()
    await run_chain(client, file_task("clip.mp4", version="v1"), first)
    second = Reports()
    await run_chain(client, file_task("clip.mp4", version="v2", prior=first.priors()), second)
    assert second.statuses() == ALL_SUCCEEDED
    for stage, report in second.by_stage().items():
        assert report.result.cached is False, stage
        assert report.result.job_id != first.by_stage()[stage].result.job_id, stage
    assert (await view.stats())["jobs"]["total"] == 8


async def test_prior_failure_moves_to_a_new_generation_and_a_new_job(
    start_service: Callable[..., RunningService], make_client: Callable[..., IttybitClient]
) -> None:
    """After a recorded failure the retry uses a new Idempotency-Key, so a new job is created."""
    service = start_service(latency=(0.5, 0.5))
    client = make_client(service)
    ingest_only = {Stage.INGESTED}
    timed_out = Reports()
    short = ChainSettings(deadlines={Stage.INGESTED: 0.1})
    task = file_task("clip.mp4", stages=ingest_only)
    await run_chain(client, task, timed_out, settings=short)
    first = timed_out.by_stage()[Stage.INGESTED]
    assert (first.result.error_kind, first.generation) == ("deadline_exceeded", 0)

    retried = Reports()
    task = file_task("clip.mp4", stages=ingest_only, prior=timed_out.priors())
    assert await run_chain(client, task, retried) == []
    second = retried.by_stage()[Stage.INGESTED]
    assert (second.result.status, second.generation) == (SUCCEEDED, 1)
    assert second.idempotency_key != first.idempotency_key
    jobs = await ServiceView(service.base_url).jobs()
    assert [job["status"] for job in jobs] == ["cancelled", "succeeded"]
    assert second.result.job_id == jobs[1]["id"]


async def test_rerun_with_nothing_recorded_reattaches_to_the_same_jobs(
    client: IttybitClient, view: ServiceView
) -> None:
    """A rerun that finds no recorded result (a crashed run) sends the same keys: no new jobs."""
    first = Reports()
    await run_chain(client, file_task("clip.mp4"), first)
    again = Reports()
    assert await run_chain(client, file_task("clip.mp4"), again) == []
    for stage, report in again.by_stage().items():
        earlier = first.by_stage()[stage]
        assert report.result.cached is False, stage
        assert report.idempotency_key == earlier.idempotency_key, stage
        assert report.result.job_id == earlier.result.job_id, stage
    assert (await view.stats())["jobs"]["total"] == 4


async def test_downstream_alone_needs_an_ingested_result(
    client: IttybitClient, view: ServiceView
) -> None:
    """Selecting deliverables without any ingested result fails them as ingested_missing."""
    reports = Reports()
    await run_chain(client, file_task("clip.mp4", stages=DOWNSTREAM), reports)
    assert {r.result.error_kind for r in reports.sent} == {"ingested_missing"}
    assert sorted(reports.stages()) == sorted(DOWNSTREAM)
    assert (await view.stats())["jobs"]["total"] == 0
