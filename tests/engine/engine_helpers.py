"""Helpers the engine tests share (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from media_assets.engine.batch import BatchOutcome, run_batch
from media_assets.engine.chain import (
    ChainSettings,
    FileChain,
    FileTask,
    PriorResult,
    StageReport,
)
from media_assets.engine.slots import JobSlots
from media_assets.ittybit import IttybitClient
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

# Every wait in these tests is bounded: a chain or batch that has not ended by then fails.
RUN_TIMEOUT_S = 30.0
NO_DEADLINES = ChainSettings(deadlines={})


@dataclass
class Reports:
    """The sink the engine reports to, in the order the reports arrived."""

    sent: list[StageReport] = field(default_factory=list)

    def __call__(self, report: StageReport) -> None:
        self.sent.append(report)

    def stages(self, key: str | None = None) -> list[Stage]:
        return [r.result.stage for r in self.sent if key is None or r.result.partition_key == key]

    def by_stage(self, key: str | None = None) -> dict[Stage, StageReport]:
        """The report of each stage (of one file); a stage reported twice fails the test."""
        reports: dict[Stage, StageReport] = {}
        for report in self.sent:
            if key is not None and report.result.partition_key != key:
                continue
            stage = report.result.stage
            assert stage not in reports, f"{stage} reported twice for {key}"
            reports[stage] = report
        return reports

    def statuses(self, key: str | None = None) -> dict[Stage, ResultStatus]:
        return {stage: r.result.status for stage, r in self.by_stage(key).items()}

    def priors(self, key: str | None = None) -> dict[Stage, PriorResult]:
        """What the event log would hand the next run: each stage's result as a prior."""
        return {stage: prior_from(report) for stage, report in self.by_stage(key).items()}


def prior_from(report: StageReport) -> PriorResult:
    return PriorResult(
        result=report.result,
        source_version=report.source_version,
        options_hash=report.options_hash,
        generation=report.generation,
        facts=report.facts,
    )


def file_task(
    key: str,
    *,
    input_url: str | None = None,
    version: str = "v1",
    stages: Collection[Stage] = ALL_STAGES,
    prior: Mapping[Stage, PriorResult] | None = None,
    overrides: Mapping[Stage, Mapping[str, Any]] | None = None,
) -> FileTask:
    """A task for ``key``; by default an http(s) source named after the key, all four stages."""
    url = input_url or f"https://media.example/library/{key}"
    return FileTask(
        key=key,
        source_uri=url,
        input_url=url,
        source_version=version,
        stages=frozenset(stages),
        prior=dict(prior or {}),
        overrides=dict(overrides or {}),
    )


async def run_chain(
    client: IttybitClient,
    task: FileTask,
    sink: Reports,
    *,
    settings: ChainSettings = NO_DEADLINES,
    max_in_flight: int = 4,
) -> list[MediaResult]:
    """One file's chain, as the batch runs it; its failed results."""
    chain = FileChain(client, JobSlots(max_in_flight), settings, task, sink)
    async with asyncio.timeout(RUN_TIMEOUT_S):
        return await chain.run()


async def run_files(
    client: IttybitClient, tasks: list[FileTask], sink: Reports, *, max_in_flight: int
) -> BatchOutcome:
    """``run_batch`` over ``tasks`` without deadlines, bounded in time."""
    async with asyncio.timeout(RUN_TIMEOUT_S):
        return await run_batch(
            client, tasks, settings=NO_DEADLINES, max_in_flight=max_in_flight, sink=sink
        )


@dataclass(frozen=True)
class ServiceView:
    """What the local service itself says: its counters and its jobs, read past the client."""

    base_url: str

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            response = await http.get("/_local/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    async def jobs(self) -> list[dict[str, Any]]:
        """Every job on the service, oldest first."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            response = await http.get("/jobs", params={"order": "asc", "limit": 100})
        response.raise_for_status()
        assert response.headers.get("has-more", "false").lower() == "false"
        jobs: list[dict[str, Any]] = response.json()
        return jobs

    async def jobs_of(self, key: str, stage: Stage | None = None) -> list[dict[str, Any]]:
        """The jobs the engine created for one file (and stage), from their metadata."""
        return [
            job
            for job in await self.jobs()
            if job["metadata"].get("partition_key") == key
            and (stage is None or job["metadata"].get("stage") == str(stage))
        ]

    async def wait_for(
        self, what: str, condition: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> None:
        """Poll the stats until ``condition(stats)`` holds; fail the test after ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):
                while not condition(await self.stats()):
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
