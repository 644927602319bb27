"""One file's chain: probe, ingest, then thumbnail, audio and transcoded side by side.

Each (stage, file) result is reported through ``on_result`` the moment it is known, so the caller
can record it at once; nothing waits for other files. A stage whose source version and options
match an earlier success is not run again: its earlier result is reported as cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from media_assets.engine.journal import JobJournal, JournalEntry, MemoryJournal
from media_assets.engine.slots import JobSlots
from media_assets.engine.stages import (
    MediaFacts,
    StageJob,
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
from media_assets.outputs.locations import LocalOutputs
from media_assets.results import DOWNSTREAM, MediaResult, ResultStatus, Stage

_NO_DEADLINE = 24 * 3600.0
# Transient errors are retried until the stage's deadline (the timeout is set per call); a 429's
# Retry-After gets up to a second of jitter so that waiters told the same moment spread out.
STAGE_RETRY = RetryPolicy(attempts=None, retry_after_jitter=1.0)
_REMOTE_FAILURE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
_REPLAYS_OF_CANCELLED = 3
# Downstream stages first: finishing files already ingested beats starting new ones.
_PRIORITY = {Stage.INGESTED: 1, Stage.THUMBNAIL: 0, Stage.AUDIO: 0, Stage.TRANSCODED: 0}


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
        return values


ReportSink = Callable[[StageReport], None]


@dataclass(frozen=True, kw_only=True)
class ChainSettings:
    deadlines: Mapping[Stage, float]
    probe_timeout: float = 300.0
    # Set on a forced run (the same for its retries): it goes into Idempotency-Keys and journal
    # entries, so a forced run makes new remote jobs and a retry of it re-attaches to them.
    force_token: str = ""
    retry: RetryPolicy = STAGE_RETRY
    # The local service's output folder: outputs found there are recorded by their file:// URL,
    # which resolves after every process has exited (and is what later jobs read them from).
    outputs: LocalOutputs | None = None


def options_hash(job: StageJob) -> str:
    return idempotency_key(str(job.kind), dict(job.options))[:16]


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
        return MediaResult(
            partition_key=self._task.key,
            source_uri=self._task.source_uri,
            stage=stage,
            status=ResultStatus.PENDING,
        )

    async def run(self) -> list[MediaResult]:
        """Process the file; returns the failed stage results (empty when all went well)."""
        task = self._task
        ingest = await self._ingested(task)
        if ingest is None:
            return self.failed
        facts, ingested_url = ingest
        downstream = [stage for stage in DOWNSTREAM if stage in task.stages]
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
        try:
            probe = await self._client.probe(task.input_url, timeout=self._settings.probe_timeout)
        except (IttybitError, TaskFailed) as error:
            kind, message = _describe(error)
            self._fail(Stage.INGESTED, None, kind, message, prior)
            self._fail_downstream("upstream_failed", f"ingested failed: {message}")
            return None
        facts = MediaFacts.from_probe(probe)
        report = await self._run_stage(Stage.INGESTED, facts, task.input_url, prior)
        if report.result.status != ResultStatus.SUCCEEDED or not report.result.output_url:
            self._fail_downstream(
                "upstream_failed", f"ingested failed: {report.result.error_message}"
            )
            return None
        return facts, report.result.output_url

    def _fail_downstream(self, kind: str, message: str) -> None:
        for stage in DOWNSTREAM:
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
            job = stage_job(stage, prior.facts, overrides)
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

    async def _run_stage(
        self, stage: Stage, facts: MediaFacts, input_url: str, prior: PriorResult | None
    ) -> StageReport:
        task = self._task
        job = stage_job(stage, facts, task.overrides.get(stage))
        digest = options_hash(job)
        if self._reusable(stage, prior, job) and prior is not None:
            report = self._cached(prior, facts, job)
            self._report(report)
            return report
        deadline = time.monotonic() + self._settings.deadlines.get(stage, _NO_DEADLINE)
        stats = JobStats()
        created_at = int(time.time() * 1000)
        async with self._slots.hold(_PRIORITY[stage]):
            try:
                remote, entry = await self._attach_or_create(
                    stage, job, digest, self._generation(prior), input_url, deadline, stats
                )
            except (IttybitError, TaskFailed) as error:
                error_kind, message = _describe(error)
                return self._fail(stage, facts, error_kind, message, prior, digest=digest)
            try:
                done = await self._client.wait_for_job(
                    remote, timeout=max(0.0, deadline - time.monotonic()), job_stats=stats
                )
            except asyncio.CancelledError:
                await self._cancel_quietly(remote.id)
                raise
            except (IttybitError, TaskFailed) as error:
                if isinstance(error, DeadlineExceeded):
                    # Where the service can cancel, stop paying for it; elsewhere the journal
                    # lets the next run pick it up if it finishes after all.
                    await self._cancel_quietly(remote.id)
                error_kind, message = _describe(error)
                return self._fail(
                    stage,
                    facts,
                    error_kind,
                    message,
                    prior,
                    job=getattr(error, "job", None) or remote,
                    key=entry.idempotency_key,
                    digest=digest,
                    generation=entry.generation,
                )
        output = done.output_file
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
            created_at=done.created_at or created_at,
            completed_at=done.finished_at or int(time.time() * 1000),
            output_path=output_path,
        )
        report = StageReport(
            result=result,
            facts=facts,
            source_version=task.source_version,
            options_hash=digest,
            generation=entry.generation,
            idempotency_key=entry.idempotency_key,
            requests=stats.requests,
            retries=stats.retries,
            options=job.options,
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
        )
        await self._journal.record(task.key, stage, entry)
        return remote, entry

    def _retry_until(self, deadline: float) -> RetryPolicy:
        remaining = max(0.001, deadline - time.monotonic())
        return replace(self._settings.retry, timeout=remaining)

    async def _cancel_quietly(self, job_id: str) -> None:
        with contextlib.suppress(IttybitError):
            # Shielded: the stage is being cancelled, but the remote cancel should still go out.
            await asyncio.shield(self._client.cancel_job(job_id))

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
        )
        self._report(report)
        return report


def _describe(error: Exception) -> tuple[str, str]:
    """An error kind and a message a user can act on."""
    if isinstance(error, JobFailed | TaskFailed):
        return error.kind, error.reason
    if isinstance(error, DeadlineExceeded):
        return "deadline_exceeded", error.message
    kind = getattr(error, "kind", None) or type(error).__name__
    return str(kind), str(error)
