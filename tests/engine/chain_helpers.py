"""Running one file's chain against a service, as a run worker does, minus Dagster."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from media_assets.engine.chain import ChainSettings, FileChain, FileTask, PriorResult, StageReport
from media_assets.engine.journal import MemoryJournal
from media_assets.engine.media_kind import guess_media_kind
from media_assets.engine.slots import JobSlots
from media_assets.ittybit import IttybitClient, PollPolicy
from media_assets.local_ittybit import RunningService
from media_assets.results import ALL_STAGES, ResultStatus, Stage

HOSTED_KEY = "ittybit_test_key_for_the_chain_tests"
StartHosted = Callable[..., RunningService]
# Quick looks, so tests of one-second jobs do not wait on the default backoff.
QUICK_POLL = PollPolicy(initial=0.1, multiplier=1.5, max_interval=0.5)


@dataclass
class ChainRun:
    """The reports of one chain run, by stage."""

    reports: dict[Stage, StageReport] = field(default_factory=dict)

    def status(self, stage: Stage) -> ResultStatus:
        return self.reports[stage].result.status

    def metadata(self, stage: Stage) -> dict[str, object]:
        return self.reports[stage].metadata()


async def run_chain(
    service: RunningService,
    url: str,
    *,
    api_key: str | None,
    journal: MemoryJournal,
    key: str = "file-1",
    deadlines: Mapping[Stage, float] | None = None,
    prior: Mapping[Stage, PriorResult] | None = None,
    stages: frozenset[Stage] = frozenset(ALL_STAGES),
    output_uri: str | None = None,
) -> ChainRun:
    """Run the chain of one source ``url``, guessing its kind from the URL as for a remote file."""
    run = ChainRun()
    task = FileTask(
        key=key,
        source_uri=url,
        input_url=url,
        source_version="v1",
        stages=stages,
        prior=prior or {},
        kind_guess=guess_media_kind(url),
    )
    settings = ChainSettings(deadlines=deadlines or {}, output_uri=output_uri)
    async with IttybitClient(base_url=service.base_url, api_key=api_key, poll=QUICK_POLL) as client:

        def sink(report: StageReport) -> None:
            run.reports[report.result.stage] = report

        await FileChain(client, JobSlots(8), settings, task, sink, journal).run()
    return run


def prior_of(report: StageReport) -> PriorResult:
    """What a later run reads back of ``report`` from the event log."""
    return PriorResult(
        result=report.result,
        source_version=report.source_version,
        options_hash=report.options_hash,
        generation=report.generation,
        facts=report.facts,
    )
