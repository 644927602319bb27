"""``run_batch`` against the real local service: bounded jobs in flight, no barrier, cancelling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from engine_helpers import NO_DEADLINES, Reports, ServiceView, file_task, run_chain, run_files

from media_assets.engine.batch import run_batch
from media_assets.ittybit import IttybitClient
from media_assets.local_ittybit import RunningService
from media_assets.results import ALL_STAGES, DOWNSTREAM, ResultStatus, Stage

pytestmark = pytest.mark.anyio

StartService = Callable[..., RunningService]
MakeClient = Callable[[RunningService], IttybitClient]


async def test_jobs_in_flight_never_exceed_max_in_flight(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Six files with a cap of 3: the service never holds more than 3 of the batch's jobs."""
    service = start_service(latency=(0.05, 0.15))
    view = ServiceView(service.base_url)
    reports = Reports()
    tasks = [file_task(f"clip-{n}.mp4") for n in range(6)]
    outcome = await run_files(make_client(service), tasks, reports, max_in_flight=3)
    assert outcome.failed == {}
    stats = await view.stats()
    assert stats["jobs"] == {**stats["jobs"], "succeeded": 24, "total": 24}
    assert stats["high_water_in_flight"] == 3  # the cap held, and was reached
    assert outcome.jobs_in_flight_high_water == 3


async def test_one_files_deliverables_overlap_another_files_ingest(
    start_service: StartService, make_client: MakeClient
) -> None:
    """No barrier between stages: one file's deliverables start while another is still ingesting."""
    # Seed 2 draws about 0.96 s for the first ingest job and 0.13 s for the second.
    service = start_service(latency=(0.05, 1.0), seed=2)
    view = ServiceView(service.base_url)
    tasks = [file_task("a.mp4"), file_task("b.mp4")]
    outcome = await run_files(make_client(service), tasks, Reports(), max_in_flight=4)
    assert outcome.failed == {}
    ingests = {key: (await view.jobs_of(key, Stage.INGESTED))[0] for key in ("a.mp4", "b.mp4")}
    fast, slow = sorted(ingests, key=lambda key: ingests[key]["finished_at"])
    slow_ingest = ingests[slow]
    for stage in DOWNSTREAM:
        (job,) = await view.jobs_of(fast, stage)
        assert slow_ingest["started_at"] <= job["started_at"] < slow_ingest["finished_at"], stage


async def test_deliverables_go_first_until_every_file_has_started(
    start_service: StartService, make_client: MakeClient
) -> None:
    """One slot, eight files: the first file gets its outputs before the third is ingested."""
    order = await _jobs_of_eight_files_on_one_slot(start_service, make_client)
    # The second file's ingest may take the slot the first ingest frees before the first
    # file's deliverables ask for it; the third's waits behind them.
    third_ingest = order.index("clip-2.mp4/ingested")
    assert all(order.index(f"clip-0.mp4/{stage}") < third_ingest for stage in DOWNSTREAM), order


async def test_ingests_go_first_once_every_file_has_started(
    start_service: StartService, make_client: MakeClient
) -> None:
    """One slot, eight files: the last two are ingested before the sixth has all its outputs."""
    order = await _jobs_of_eight_files_on_one_slot(start_service, make_client)
    # The window of started files reaches the eighth when the fifth is done; from then on the
    # sixth file's outputs still waiting queue behind the seventh and eighth files' ingests.
    assert order.index("clip-7.mp4/ingested") < order.index("clip-5.mp4/transcoded"), order


async def _jobs_of_eight_files_on_one_slot(
    start_service: StartService, make_client: MakeClient
) -> list[str]:
    """Run eight files with one job in flight; the service's jobs as 'file/stage', oldest first."""
    service = start_service(latency=(0.01, 0.02))
    tasks = [file_task(f"clip-{n}.mp4") for n in range(8)]
    outcome = await run_files(make_client(service), tasks, Reports(), max_in_flight=1)
    assert outcome.failed == {}
    names = []
    for job in await ServiceView(service.base_url).jobs():
        metadata = job["metadata"]
        names.append(f"{metadata['partition_key']}/{metadata['stage']}")
    return names


async def test_a_failing_file_does_not_stop_the_others(
    start_service: StartService, make_client: MakeClient
) -> None:
    """One file's failed ingest is that file's outcome alone; the others finish all four stages."""
    service = start_service(fail_match="broken")
    reports = Reports()
    tasks = [file_task(name) for name in ("a.mp4", "broken.mp4", "c.mp4")]
    outcome = await run_files(make_client(service), tasks, reports, max_in_flight=2)
    assert sorted(outcome.failed) == ["broken.mp4"]
    for key in ("a.mp4", "c.mp4"):
        assert reports.statuses(key) == dict.fromkeys(ALL_STAGES, ResultStatus.SUCCEEDED), key


async def test_cancelling_the_batch_cancels_its_remote_jobs(
    start_service: StartService, make_client: MakeClient
) -> None:
    """Cancelled mid-flight, run_batch returns only once the service shows its jobs cancelled."""
    service = start_service(hang_rate=1.0)
    view = ServiceView(service.base_url)
    reports = Reports()
    tasks = [file_task(f"stuck-{n}.mp4") for n in range(3)]
    batch = asyncio.create_task(
        run_batch(make_client(service), tasks, settings=NO_DEADLINES, max_in_flight=2, sink=reports)
    )
    await view.wait_for("two jobs processing", lambda stats: stats["processing"] == 2)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await batch
    jobs = (await view.stats())["jobs"]
    assert (jobs["cancelled"], jobs["total"]) == (2, 2)
    assert reports.sent == []  # nothing is recorded for stages that were stopped


async def test_a_rerun_after_a_cancelled_batch_makes_new_jobs(
    start_service: StartService, make_client: MakeClient
) -> None:
    """The rerun of a cancelled file does not re-attach to its cancelled job: it makes a new one."""
    service = start_service(latency=(0.5, 0.5))
    view = ServiceView(service.base_url)
    client = make_client(service)
    batch = asyncio.create_task(
        run_batch(
            client, [file_task("a.mp4")], settings=NO_DEADLINES, max_in_flight=2, sink=Reports()
        )
    )
    await view.wait_for("the ingest job", lambda stats: stats["processing"] == 1)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await batch

    reports = Reports()
    assert await run_chain(client, file_task("a.mp4"), reports) == []
    assert reports.statuses() == dict.fromkeys(ALL_STAGES, ResultStatus.SUCCEEDED)
    assert reports.by_stage()[Stage.INGESTED].generation == 1  # recorded as the one it used
    ingests = await view.jobs_of("a.mp4", Stage.INGESTED)
    assert [job["status"] for job in ingests] == ["cancelled", "succeeded"]
