"""One file's chain: ingest, then thumbnail, audio and transcoded side by side.

Each (stage, file) result is reported through ``on_result`` the moment it is known, so the caller
can record it at once; nothing waits for other files. A stage whose source version and options
match an earlier success is not run again: its earlier result is reported as cached.

**Ingest is one job.** The media facts that decide the other stages (video, audio or image; with
or without sound) come from the ingest job's own probe task, the only place the hosted API
reports them (it documents no way to read a standalone probe task back). The job's kind has to be
chosen before that probe, so it is guessed (``engine.media_kind``: an earlier probe, the bytes
of a local file, the extension, the JSONL ``kind``, else video). When the job's probe says the
source is of another kind, the chain records the guess and the job it wasted in the stage's
metadata, and creates the job the source needs. A wrong guess costs one extra remote job and its
time: a job that cannot be made from the source (a video job on an mp3, an audio job on a silent
file) fails in its encode task after probe and import, within seconds; one that can (an audio
job on a video, an image job on a video) runs to the end and its output is discarded. Either way
Ittybit bills it, and the ingest takes as long as both jobs.

**Deadlines and termination.** A stage past its deadline stops waiting and is recorded
``deadline_exceeded`` with its job id. Where the service offers cancelling (the local service
advertises it), the job is cancelled; Ittybit documents no cancel, so there it runs on and may
still be billed, and the next run re-attaches to it by id through the job journal: its result if
it succeeded, a new job if it failed. A terminated run does the same for every job in flight,
without recording anything: those stages stay pending until the next run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from media_assets.engine.journal import JobJournal, JournalEntry, MemoryJournal
from media_assets.engine.media_kind import DEFAULT_GUESS, KindGuess
from media_assets.engine.slots import JobSlots
from media_assets.engine.stages import (
    MediaFacts,
    StageJob,
    delivered,
    ingest_job,
    not_applicable_reason,
    stage_job,
)
from media_assets.ittybit import (
    DeadlineExceeded,
    IttybitClient,
    IttybitError,
    Job,
    JobFailed,
    JobStats,
    JobStatus,
    NotFoundError,
    RetryPolicy,
    TaskFailed,
    idempotency_key,
)
from media_assets.results import (
    DOWNSTREAM,
    OPTIONAL_STAGES,
    MediaResult,
    ResultStatus,
    Stage,
)

_NO_DEADLINE = 24 * 3600.0
# Transient errors are retried until the stage's deadline (the timeout is set per call); a 429's
# Retry-After gets up to a second of jitter so that waiters told the same moment spread out.
STAGE_RETRY = RetryPolicy(attempts=None, retry_after_jitter=1.0)
_REMOTE_FAILURE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
_REPLAYS_OF_CANCELLED = 3
# Downstream stages first: finishing files already ingested beats starting new ones.
_PRIORITY = {stage: 0 for stage in Stage} | {Stage.INGESTED: 1}
INGEST_PRIORITY = _PRIORITY[Stage.INGESTED]
# Every stage made from the ingested output, the optional ones included.
_AFTER_INGEST = (*DOWNSTREAM, *OPTIONAL_STAGES)


@dataclass(frozen=True, kw_only=True)
class PriorResult:
    """The latest recorded outcome of one stage for one file (from the event log)."""

    result: MediaResult
    source_version: str | None
    options_hash: str | None
    generation: int
    facts: MediaFacts | None = None
    options: Mapping[str, Any] | None = None  # what its job asked for, when one ran


@dataclass(frozen=True, kw_only=True)
class FileTask:
    """Everything the chain needs to process one file."""

    key: str
    source_uri: str
    input_url: str  # the URL the service fetches (may differ from source_uri, e.g. mapped)
    source_version: str
    stages: frozenset[Stage]
    overrides: Mapping[Stage, Mapping[str, Any]] = field(default_factory=dict)
    prior: Mapping[Stage, PriorResult] = field(default_factory=dict)
    force: bool = False
    # What the source is thought to be before any job probed it (see ``engine.media_kind``).
    kind_guess: KindGuess = DEFAULT_GUESS


@dataclass(frozen=True, kw_only=True)
class StageReport:
    """A result plus the facts that let a later run reuse it."""

    result: MediaResult
    facts: MediaFacts | None
    source_version: str
    options_hash: str | None
    generation: int
    idempotency_key: str | None = None
    requests: int = 0
    retries: int = 0
    options: Mapping[str, Any] | None = None  # what the job asked for (None: no job applied)
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. how the ingest kind was chosen

    def metadata(self) -> dict[str, Any]:
        values = self.result.to_metadata()
        values["source_version"] = self.source_version
        values["generation"] = self.generation
        if self.options_hash:
            values["options_hash"] = self.options_hash
        if self.options is not None:
            values["options"] = dict(self.options)
        if self.idempotency_key:
            values["idempotency_key"] = self.idempotency_key
        if self.requests:
            values["http_requests"] = self.requests
        if self.retries:
            values["http_retries"] = self.retries
        if self.facts is not None:
            values.update(self.facts.to_metadata())
        values.update(self.extra)
        return values


ReportSink = Callable[[StageReport], None]


class OutputFolder(Protocol):
    """Where a service's outputs can be read on this machine (``outputs.LocalOutputs``)."""

    def path_of(self, url: str) -> Path | None:
        """The file behind an output URL, if it is in the folder."""
        ...


@dataclass(frozen=True, kw_only=True)
class ChainSettings:
    deadlines: Mapping[Stage, float]
    # s3://bucket/prefix every output is delivered under (each job's ``output``), or None.
    output_uri: str | None = None
    # Set on a forced run (the same for its retries): it goes into Idempotency-Keys and journal
    # entries, so a forced run makes new remote jobs and a retry of it re-attaches to them.
    force_token: str = ""
    retry: RetryPolicy = STAGE_RETRY
    # The local service's output folder: outputs found there are recorded by their file:// URL,
    # which resolves after every process has exited (and is what later jobs read them from).
    outputs: OutputFolder | None = None


def options_hash(job: StageJob) -> str:
    """What identifies the work a job does: its kind, options and delivery destination."""
    parts: list[Any] = [str(job.kind), dict(job.options)]
    if job.output:
        parts.append(job.output)  # only when set, so results made without one stay reusable
    return idempotency_key(*parts)[:16]


@dataclass
class _Remote:
    """How one remote job ended for the chain: done, or not, with the reason."""

    job: Job | None  # as last seen; None when none could be created
    entry: JournalEntry | None
    stats: JobStats
    created_at: int  # Unix ms, when we asked for it
    error: tuple[str, str] | None = None  # (kind, message) when it did not succeed


class FileChain:
    """Runs one ``FileTask`` against the client; reports every stage outcome to ``sink``."""

    def __init__(
        self,
        client: IttybitClient,
        slots: JobSlots,
        settings: ChainSettings,
        task: FileTask,
        sink: ReportSink,
        journal: JobJournal | None = None,
    ) -> None:
        self._client = client
        self._slots = slots
        self._settings = settings
        self._task = task
        self._sink = sink
        # Without a journal, jobs are remembered for this chain only (as after a crash).
        self._journal = journal if journal is not None else MemoryJournal()
        self.failed: list[MediaResult] = []

    def _report(self, report: StageReport) -> None:
        if report.result.status == ResultStatus.FAILED:
            self.failed.append(report.result)
        self._sink(report)

    def _blank(self, stage: Stage) -> MediaResult:
        return MediaResult.pending(self._task.key, self._task.source_uri, stage)

    async def run(self) -> list[MediaResult]:
        """Process the file; returns the failed stage results (empty when all went well)."""
        task = self._task
        ingest = await self._ingested(task)
        if ingest is None:
            return self.failed
        facts, ingested_url = ingest
        downstream = [stage for stage in _AFTER_INGEST if stage in task.stages]
        await asyncio.gather(
            *(self._downstream(stage, facts, ingested_url) for stage in downstream)
        )
        return self.failed

    # -- ingest -------------------------------------------------------------------------

    async def _ingested(self, task: FileTask) -> tuple[MediaFacts, str] | None:
        """The ingested output (made now, cached, or from an earlier run) and the media facts."""
        prior = task.prior.get(Stage.INGESTED)
        if Stage.INGESTED not in task.stages:
            if (
                prior is None
                or prior.result.status != ResultStatus.SUCCEEDED
                or prior.facts is None
                or not prior.result.output_url
            ):
                self._fail_downstream(
                    "ingested_missing", "ingested is not materialized for this file: select it too"
                )
                return None
            if prior.source_version != task.source_version:
                self._fail_downstream(
                    "ingested_stale",
                    "the source changed since it was ingested: select ingested too",
                )
                return None
            return prior.facts, prior.result.output_url
        if self._reusable(Stage.INGESTED, prior, None) and prior and prior.facts:
            assert prior.result.output_url is not None
            job = stage_job(Stage.INGESTED, prior.facts, task.overrides.get(Stage.INGESTED))
            self._report(self._cached(prior, prior.facts, job))
            return prior.facts, prior.result.output_url
        report, facts = await self._ingest(task, prior)
        if report.result.status != ResultStatus.SUCCEEDED or not report.result.output_url:
            self._fail_downstream(
                "upstream_failed", f"ingested failed: {report.result.error_message}"
            )
            return None
        assert facts is not None
        return facts, report.result.output_url

    async def _ingest(
        self, task: FileTask, prior: PriorResult | None
    ) -> tuple[StageReport, MediaFacts | None]:
        """One ingest job of the guessed kind; a second of the right kind if the guess was wrong."""
        guess = await self._kind_guess(prior)
        overrides = task.overrides.get(Stage.INGESTED)
        job = self._delivered(ingest_job(guess.kind, overrides))
        deadline = self._deadline(Stage.INGESTED)
        recorded = guess.kind if guess.basis == "recorded" else None
        outcome = await self._remote(
            Stage.INGESTED, job, task.input_url, prior, deadline, media_kind=recorded
        )
        spent = [outcome.stats]
        extra: dict[str, Any] = {"media_kind_guess": guess.kind, "media_kind_basis": guess.basis}
        facts = _probed_facts(outcome.job)
        if facts is not None and outcome.job is not None:
            right = self._delivered(ingest_job(facts.kind, overrides))
            if options_hash(right) != options_hash(job):
                # The probe says the source is another kind: say so, and make the right job.
                in_time = time.monotonic() < deadline
                then = "this run made" if in_time else "out of time, the next run makes"
                misguess = (
                    f"guessed {guess.kind} from the {guess.basis}; the probe of job "
                    f"{outcome.job.id} says {facts.kind}: {then} a {right.kind} job"
                )
                extra.update(
                    misguessed_job_id=outcome.job.id,
                    misguessed_job_status=str(outcome.job.status),
                    misguess=misguess,
                )
                if outcome.entry is not None:
                    # A later run, if this one stops here, goes straight to the right kind.
                    await self._journal.record(
                        task.key, Stage.INGESTED, replace(outcome.entry, media_kind=facts.kind)
                    )
                if in_time:
                    job = right
                    outcome = await self._remote(
                        Stage.INGESTED, job, task.input_url, prior, deadline, media_kind=facts.kind
                    )
                    spent.append(outcome.stats)
                else:
                    # Even a wrong-kind job that succeeded is no mezzanine for this source.
                    kind, message = outcome.error or ("deadline_exceeded", "out of time")
                    outcome.error = (kind, f"{message}; {misguess}")
        if facts is None and outcome.error is None and outcome.job is not None:
            # A service that lists no probe task: the mezzanine is of the source's kind.
            output = outcome.job.output_file
            facts = MediaFacts.from_probe(output) if output is not None else None
        report = self._settle(Stage.INGESTED, job, facts, prior, outcome, extra=extra, spent=spent)
        return report, facts

    async def _kind_guess(self, prior: PriorResult | None) -> KindGuess:
        """What this source is taken to be before this run's ingest job probes it."""
        task = self._task
        known = await self._journal.recall(task.key, Stage.INGESTED)
        if (
            known is not None
            and known.media_kind
            and known.same_source(
                source_version=task.source_version, force_token=self._settings.force_token
            )
        ):
            return KindGuess(known.media_kind, "recorded")
        if prior and prior.facts and prior.source_version == task.source_version:
            return KindGuess(prior.facts.kind, "recorded")
        return task.kind_guess

    def _fail_downstream(self, kind: str, message: str) -> None:
        for stage in _AFTER_INGEST:
            if stage in self._task.stages:
                self._fail(stage, None, kind, message, self._task.prior.get(stage))

    # -- downstream -----------------------------------------------------------------------

    async def _downstream(self, stage: Stage, facts: MediaFacts, ingested_url: str) -> None:
        reason = not_applicable_reason(stage, facts)
        prior = self._task.prior.get(stage)
        if reason is not None:
            result = replace(
                self._blank(stage), status=ResultStatus.NOT_APPLICABLE, error_message=reason
            )
            self._report(
                StageReport(
                    result=result,
                    facts=facts,
                    source_version=self._task.source_version,
                    options_hash=None,
                    generation=prior.generation if prior else 0,
                )
            )
            return
        await self._run_stage(stage, facts, ingested_url, prior)

    # -- one remote job -------------------------------------------------------------------

    def _reusable(self, stage: Stage, prior: PriorResult | None, job: StageJob | None) -> bool:
        if self._task.force or prior is None:
            return False
        if prior.result.status != ResultStatus.SUCCEEDED or not prior.result.output_url:
            return False
        if prior.source_version != self._task.source_version:
            return False
        if job is None:  # ingest: options depend on facts we only know from the prior run
            overrides = self._task.overrides.get(stage, {})
            if prior.facts is None:
                return False
            job = self._delivered(stage_job(stage, prior.facts, overrides))
        return prior.options_hash == options_hash(job)

    def _cached(
        self, prior: PriorResult, facts: MediaFacts | None, job: StageJob | None = None
    ) -> StageReport:
        return StageReport(
            result=replace(prior.result, cached=True),
            facts=facts,
            source_version=self._task.source_version,
            options_hash=prior.options_hash,
            generation=prior.generation,
            options=job.options if job is not None else None,
        )

    def _generation(self, prior: PriorResult | None) -> int:
        """A failed attempt moves to a new generation, so the retry creates a new remote job.

        A run that crashed recorded nothing, so its retry keeps the generation and re-attaches
        to the same remote job through the Idempotency-Key.
        """
        if prior is None:
            return 0
        if prior.result.status == ResultStatus.FAILED:
            return prior.generation + 1
        return prior.generation

    def _delivered(self, job: StageJob) -> StageJob:
        return delivered(job, self._settings.output_uri, self._task.key)

    def _deadline(self, stage: Stage) -> float:
        return time.monotonic() + self._settings.deadlines.get(stage, _NO_DEADLINE)

    async def _run_stage(
        self, stage: Stage, facts: MediaFacts, input_url: str, prior: PriorResult | None
    ) -> StageReport:
        job = self._delivered(stage_job(stage, facts, self._task.overrides.get(stage)))
        if self._reusable(stage, prior, job) and prior is not None:
            report = self._cached(prior, facts, job)
            self._report(report)
            return report
        outcome = await self._remote(stage, job, input_url, prior, self._deadline(stage))
        return self._settle(stage, job, facts, prior, outcome, spent=[outcome.stats])

    async def _remote(
        self,
        stage: Stage,
        job: StageJob,
        input_url: str,
        prior: PriorResult | None,
        deadline: float,
        *,
        media_kind: str | None = None,
    ) -> _Remote:
        """Create (or re-attach to) the remote job for ``job`` and wait for it, within a slot."""
        stats = JobStats()
        created_at = int(time.time() * 1000)
        async with self._slots.hold(_PRIORITY[stage]):
            try:
                remote, entry = await self._attach_or_create(
                    stage,
                    job,
                    options_hash(job),
                    self._generation(prior),
                    input_url,
                    deadline,
                    stats,
                    media_kind,
                )
            except IttybitError as error:
                return _Remote(None, None, stats, created_at, _describe(error))
            try:
                done = await self._client.wait_for_job(
                    remote, timeout=max(0.0, deadline - time.monotonic()), job_stats=stats
                )
            except asyncio.CancelledError:
                # A terminated run: cancel where the service can; the journal keeps the job.
                await self._stop_remote(remote.id)
                raise
            except IttybitError as error:
                kind, message = _describe(error)
                if isinstance(error, DeadlineExceeded):
                    message += await self._after_deadline(remote.id)
                last_seen = getattr(error, "job", None) or remote
                return _Remote(last_seen, entry, stats, created_at, (kind, message))
        return _Remote(done, entry, stats, created_at)

    async def _after_deadline(self, job_id: str) -> str:
        """Stop paying for a job past its deadline where possible; what became of it, in words."""
        if await self._stop_remote(job_id):
            return "; the job was cancelled"
        return (
            "; the job was left running (the service offers no cancel: Ittybit documents none),"
            " so it may still finish and be billed; the next run re-attaches to it by id and"
            " uses its result if it succeeded"
        )

    def _settle(
        self,
        stage: Stage,
        job: StageJob,
        facts: MediaFacts | None,
        prior: PriorResult | None,
        outcome: _Remote,
        *,
        spent: list[JobStats],
        extra: Mapping[str, Any] | None = None,
    ) -> StageReport:
        """Report how ``outcome`` ended, as the stage's result."""
        digest = options_hash(job)
        entry = outcome.entry
        requests = sum(stats.requests for stats in spent)
        retries = sum(stats.retries for stats in spent)
        done = outcome.job
        if outcome.error is not None or done is None:
            kind, message = outcome.error or ("unknown_error", "no remote job")
            return self._fail(
                stage,
                facts,
                kind,
                message,
                prior,
                job=done,
                key=entry.idempotency_key if entry else None,
                digest=digest,
                generation=entry.generation if entry else None,
                requests=requests,
                retries=retries,
                extra=extra,
            )
        assert entry is not None
        output = done.output_file
        task = self._task
        output_url = done.output or (output.url if output else None)
        output_path = None
        if output_url and self._settings.outputs is not None:
            found = self._settings.outputs.path_of(output_url)
            if found is not None:
                output_url, output_path = found.as_uri(), str(found)
        result = MediaResult(
            partition_key=task.key,
            source_uri=task.source_uri,
            stage=stage,
            status=ResultStatus.SUCCEEDED,
            job_id=done.id,
            output_url=output_url,
            kind=str(job.kind),
            format=(output.format if output else None) or str(job.options.get("format") or ""),
            width=output.width if output else None,
            height=output.height if output else None,
            duration_s=output.duration if output else None,
            filesize=output.filesize if output else None,
            processing_ms=done.processing_ms,
            attempts=entry.generation + 1,
            created_at=done.created_at or outcome.created_at,
            completed_at=done.finished_at or int(time.time() * 1000),
            output_path=output_path,
            delivered_to=_delivered_to(done, job),
        )
        report = StageReport(
            result=result,
            facts=facts,
            source_version=task.source_version,
            options_hash=digest,
            generation=entry.generation,
            idempotency_key=entry.idempotency_key,
            requests=requests,
            retries=retries,
            options=job.options,
            extra=dict(extra or {}),
        )
        self._report(report)
        return report

    async def _attach_or_create(
        self,
        stage: Stage,
        job: StageJob,
        digest: str,
        generation: int,
        input_url: str,
        deadline: float,
        stats: JobStats,
        media_kind: str | None = None,
    ) -> tuple[Job, JournalEntry]:
        """The remote job for this stage: the journal's, if it can still deliver, else a new one.

        A job the journal knows for the same work is looked up by id before anything is created:
        one that succeeded or is still going is used as it is (a crashed run, a lost connection
        or an earlier deadline does not pay for the work twice); one that failed remotely moves
        the stage to a new generation, whose Idempotency-Key makes the service create a new job.
        """
        task = self._task
        token = self._settings.force_token
        known = await self._journal.recall(task.key, stage)
        if known is not None and known.serves(
            options_hash=digest, source_version=task.source_version, force_token=token
        ):
            found: Job | None
            try:
                found = await self._client.get_job(
                    known.job_id, job_stats=stats, retry=self._retry_until(deadline)
                )
            except NotFoundError:
                found = None  # the service no longer knows it (its data was reset)
            if found is not None and found.status not in _REMOTE_FAILURE:
                return found, known
            generation = max(generation, known.generation + 1)
        for replay in range(_REPLAYS_OF_CANCELLED + 1):
            key = idempotency_key(
                task.key, str(stage), digest, task.source_version, generation, token
            )
            remote = await self._client.create_job(
                input=input_url,
                kind=job.kind,
                options=job.options,
                metadata={"partition_key": task.key, "stage": str(stage)},
                output=job.output,
                idempotency_key=key,
                job_stats=stats,
                retry=self._retry_until(deadline),
            )
            if remote.status != JobStatus.CANCELLED or replay == _REPLAYS_OF_CANCELLED:
                break
            # The key replayed a job that an interrupted run cancelled before it could record
            # it: that attempt is over, so this one takes the next generation.
            generation += 1
        entry = JournalEntry(
            job_id=remote.id,
            idempotency_key=key,
            options_hash=digest,
            source_version=task.source_version,
            generation=generation,
            force_token=token,
            media_kind=media_kind,
        )
        await self._journal.record(task.key, stage, entry)
        return remote, entry

    def _retry_until(self, deadline: float) -> RetryPolicy:
        remaining = max(0.001, deadline - time.monotonic())
        return replace(self._settings.retry, timeout=remaining)

    async def _stop_remote(self, job_id: str) -> bool:
        """Cancel the remote job where the service offers it; whether it was cancelled."""
        try:
            # Shielded: the stage is being cancelled, but the remote cancel should still go out.
            await asyncio.shield(self._client.cancel_job(job_id))
        except IttybitError:
            return False  # UnsupportedOperation included: nothing was sent
        return True

    def _fail(
        self,
        stage: Stage,
        facts: MediaFacts | None,
        error_kind: str,
        message: str,
        prior: PriorResult | None,
        *,
        job: Job | None = None,
        key: str | None = None,
        digest: str | None = None,
        generation: int | None = None,
        requests: int = 0,
        retries: int = 0,
        extra: Mapping[str, Any] | None = None,
    ) -> StageReport:
        if generation is None:
            generation = self._generation(prior)
        result = replace(
            self._blank(stage),
            status=ResultStatus.FAILED,
            job_id=job.id if job else None,
            kind=str(job.kind) if job else None,
            attempts=generation + 1,
            error_kind=error_kind,
            error_message=message,
            created_at=job.created_at if job else None,
            completed_at=int(time.time() * 1000),
        )
        report = StageReport(
            result=result,
            facts=facts,
            source_version=self._task.source_version,
            options_hash=digest,
            generation=generation,
            idempotency_key=key,
            requests=requests,
            retries=retries,
            extra=dict(extra or {}),
        )
        self._report(report)
        return report


def _delivered_to(done: Job, job: StageJob) -> str | None:
    """Where a succeeded job delivered its output: as its export task says, else as asked."""
    if not job.output:
        return None
    exported = done.exported_file
    if exported is not None and exported.url and exported.url.startswith("s3://"):
        return exported.url
    return job.output


def _probed_facts(job: Job | None) -> MediaFacts | None:
    """What the job's own probe task says of its input, if it has said it yet."""
    probed = job.input_file if job is not None else None
    return MediaFacts.from_probe(probed) if probed is not None else None


def _describe(error: Exception) -> tuple[str, str]:
    """An error kind and a message a user can act on."""
    if isinstance(error, JobFailed | TaskFailed):
        return error.kind, error.reason
    if isinstance(error, DeadlineExceeded):
        return "deadline_exceeded", error.message
    kind = getattr(error, "kind", None) or type(error).__name__
    return str(kind), str(error)
