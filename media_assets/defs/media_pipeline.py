"""The media pipeline: one subsettable multi-asset over the ``media_files`` partitions.

One run may carry one file (a UI click) or a range of files (a backfill): the body runs
``asyncio.run`` over ``context.partition_keys`` with a bounded number of remote jobs in flight.
Each (stage, file) is recorded the moment it finishes: a success as that partition's
materialization, a failure as an observation carrying the reason (see ``result_events``). Each
output is then checked (``output_checks``) and the verdict recorded as that partition's
``output_valid`` evaluation. If any file failed, the step ends with a ``Failure`` naming each, so
exactly those partitions show as failed.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field

from media_assets.defs.latest_results import OUTPUT_CHECK, prior_results
from media_assets.defs.loop_thread import LoopThread
from media_assets.defs.output_checks import (
    CheckVerdict,
    OutputChecker,
    check_evaluation,
    judge,
    output_check_specs,
)
from media_assets.defs.partitions import media_files
from media_assets.defs.resources import IttybitResource, SourceUnreachable, shared_slots_for
from media_assets.defs.result_events import result_description, result_metadata, result_tags
from media_assets.engine.batch import BatchOutcome, run_batch
from media_assets.engine.chain import ChainSettings, FileTask, StageReport
from media_assets.engine.journal import KeyValueJournal
from media_assets.engine.media_kind import guess_media_kind
from media_assets.instance.connections import keep_connections_open
from media_assets.instance.job_journal import instance_journal
from media_assets.ittybit.retry import RetryEvent
from media_assets.outputs.locations import LocalOutputs
from media_assets.registry import default_registry
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage
from media_assets.sources import SourceFile

PIPELINE_GROUP = "media"


class PipelineConfig(dg.Config):
    """Run configuration; every field has a default, so a UI click needs none."""

    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-stage Ittybit options for this run, e.g. {'transcoded': {'width': 720}}",
    )
    deadlines_s: dict[str, float] = Field(
        default_factory=dict,
        description="Per-stage deadlines in seconds for this run, over the resource's "
        "(MEDIA_ASSETS_DEADLINES); a stage past its deadline fails with deadline_exceeded",
    )
    max_in_flight: int | None = Field(
        default=None,
        description="Remote jobs in flight across every run of this machine, or of the deployment "
        "with a database (overrides the resource); the same N as `media-assets run "
        "--max-in-flight N`",
    )
    run_in_flight: int | None = Field(
        default=None, description="Remote jobs this run keeps in flight (overrides the resource)"
    )
    force: bool = Field(
        default=False, description="Run stages again even when the source and options are unchanged"
    )


_STAGE_DESCRIPTIONS = {
    Stage.INGESTED: "The normalised mezzanine of each source (Ittybit video job, mp4 high).",
    Stage.THUMBNAIL: "A webp thumbnail 640 px wide, from the frame at 2 s of the ingested file.",
    Stage.AUDIO: "The audio track as mp3 (quality high); not applicable without audio.",
    Stage.TRANSCODED: "An h264 mp4 1280 px wide (quality medium); not applicable to audio/images.",
    Stage.ADAPTIVE_VIDEO: "An HLS ladder (master playlist, two or three renditions) of each "
    "video; on where MEDIA_ASSETS_ADAPTIVE_VIDEO is set; not applicable to audio/images.",
}


def _spec(stage: Stage) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=str(stage),
        deps=[] if stage == Stage.INGESTED else [str(Stage.INGESTED)],
        description=_STAGE_DESCRIPTIONS[stage],
        # Outputs are recorded per partition as they finish, not returned at the end.
        skippable=True,
        group_name=PIPELINE_GROUP,
        kinds={"ittybit"},
    )


def build_media_pipeline(
    *, files_per_run: int, stages: Sequence[Stage] = ALL_STAGES, output_checks: bool = True
) -> dg.AssetsDefinition:
    """The pipeline multi-asset; a backfill runs it in ranged runs of ``files_per_run`` files.

    Dagster reads a backfill policy when the code location loads, so it comes from the loading
    process's settings (``media-assets run`` starts its daemon with the size it chose).
    ``stages`` are the contract's four, plus the optional ones the library turns on. With
    ``output_checks`` every stage has its ``output_valid`` check (outputs this machine can read).
    """
    return dg.multi_asset(
        name="media_pipeline",
        specs=[_spec(stage) for stage in stages],
        check_specs=output_check_specs(stages) if output_checks else None,
        partitions_def=media_files,
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=files_per_run),
    )(media_pipeline)


def media_pipeline(
    context: dg.AssetExecutionContext, config: PipelineConfig, ittybit: IttybitResource
) -> Iterator[
    dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation | dg.Output[None]
]:
    """Run the Ittybit jobs of every selected stage for every file of this run."""
    # No asset Output is ever yielded: each (stage, file) result is yielded as its own
    # partition's materialization (or failure observation) the moment it is known, and each
    # output's check verdict as that partition's check evaluation right after.
    keep_connections_open(context.instance)  # several events per file
    keys = list(context.partition_keys)
    stages = frozenset(Stage(key.path[-1]) for key in context.selected_asset_keys)
    checked = frozenset(
        Stage(key.asset_key.path[-1])
        for key in context.selected_asset_check_keys
        if key.name == OUTPUT_CHECK
    )
    if not stages:
        yield from _recheck(context, keys, checked)
        return
    outputs = ittybit.local_outputs()
    recorder = _Recorder(outputs, checked)
    tasks, unusable = _file_tasks(context, ittybit, config, keys, stages)
    for key, (source_uri, reason) in unusable.items():
        for stage in sorted(stages):
            recorder.record_failure(key, source_uri, stage, "invalid_source", reason)
    started = time.monotonic()
    # A forced run makes new remote jobs; its retries (same root run) re-attach to them.
    force_token = (context.run.root_run_id or context.run.run_id) if config.force else ""
    journal = instance_journal(context.instance)
    loop = LoopThread(_run(ittybit, tasks, config, recorder, journal, force_token, outputs))
    for item in recorder.attach(loop.post):
        yield from _emit(context, item)
    for item in loop.items():
        yield from _emit(context, item)
    outcome = loop.result
    if recorder.checker.unchecked:
        context.log.info(
            f"{recorder.checker.unchecked} output(s) not checked: they are not in an output "
            "folder on this machine"
        )
    # Each check was evaluated per partition above; its step output only tells Dagster so.
    for check_key in context.selected_asset_check_keys:
        yield dg.Output(None, output_name=_check_output_name(context, check_key))
    failed = {**{k: recorder.failures[k] for k in unusable}, **outcome.failed}
    context.log.info(
        f"{len(keys)} file(s): {len(keys) - len(failed)} succeeded, {len(failed)} failed "
        f"in {time.monotonic() - started:.1f}s; at most {outcome.jobs_in_flight_high_water} "
        "remote job(s) in flight"
    )
    if failed:
        raise dg.Failure(
            description=_failure_description(failed),
            metadata={"failed_files": len(failed), "failed_keys": sorted(failed)},
        )


async def _run(
    ittybit: IttybitResource,
    tasks: Sequence[FileTask],
    config: PipelineConfig,
    recorder: "_Recorder",
    journal: KeyValueJournal,
    force_token: str,
    outputs: LocalOutputs | None,
) -> BatchOutcome:
    in_flight = config.run_in_flight or ittybit.run_in_flight
    # Sized for this run's jobs in flight, which run config may set above the resource's.
    client = ittybit.make_client(on_retry=recorder.record_retry, in_flight=in_flight)
    shared_slots = shared_slots_for(config.max_in_flight or ittybit.max_in_flight)
    deadlines = {**ittybit.deadlines_s, **config.deadlines_s}
    settings = ChainSettings(
        deadlines={Stage(name): seconds for name, seconds in deadlines.items()},
        force_token=force_token,
        output_uri=ittybit.output_uri,
        outputs=outputs,
    )
    try:
        await journal.preload([task.key for task in tasks], tuple(Stage))
        outcome = await run_batch(
            client,
            tasks,
            settings=settings,
            max_in_flight=in_flight,
            sink=recorder.record,
            shared_slots=shared_slots,
            journal=journal,
        )
        await recorder.checker.drain()
        return outcome
    finally:
        recorder.checker.cancel()
        await client.aclose()
        if shared_slots is not None:
            shared_slots.close()


def _file_tasks(
    context: dg.AssetExecutionContext,
    ittybit: IttybitResource,
    config: PipelineConfig,
    keys: list[str],
    stages: frozenset[Stage],
) -> tuple[list[FileTask], dict[str, tuple[str, str]]]:
    """Build the chain input of every key; keys that cannot run map to the reason why."""
    sources = default_registry().get_many(keys)
    # Reuse needs the ingested result even when ingested itself is not selected.
    priors = prior_results(context.instance, set(stages) | {Stage.INGESTED}, keys)
    tasks: list[FileTask] = []
    unusable: dict[str, tuple[str, str]] = {}  # key -> (source URI, or the key; reason)
    for key in keys:
        source = sources.get(key) or _adhoc_source(key)
        if source is None:
            unusable[key] = (
                key,
                f"partition {key!r} is not a registered source: add files with "
                "`media-assets run`, the new_uploads sensor, or use an http(s) URL as the key",
            )
            continue
        try:
            input_url = ittybit.input_url(source.uri)
        except SourceUnreachable as error:
            unusable[key] = (source.uri, str(error))
            continue
        overrides: dict[Stage, dict[str, Any]] = {}
        for stage in Stage:
            merged = {**source.options.get(str(stage), {}), **config.options.get(str(stage), {})}
            if merged:
                overrides[stage] = merged
        tasks.append(
            FileTask(
                key=key,
                source_uri=source.uri,
                input_url=input_url,
                source_version=source.version or source.uri,
                stages=stages,
                overrides=overrides,
                prior=priors.get(key, {}),
                force=config.force,
                kind_guess=guess_media_kind(
                    source.uri, declared=source.kind, local_path=source.local_path
                ),
            )
        )
    return tasks, unusable


def _adhoc_source(key: str) -> SourceFile | None:
    """A partition added by hand in the UI whose key is itself an http(s) URL."""
    if key.startswith(("http://", "https://")):
        return SourceFile(key=key, uri=key, name=key.rsplit("/", 1)[-1] or key)
    return None


def _failure_description(failed: dict[str, list[MediaResult]]) -> str:
    lines = [f"{len(failed)} file(s) failed:"]
    for key in sorted(failed)[:200]:
        first = failed[key][0]
        lines.append(
            f"- {key} ({first.source_uri}): {first.stage} {first.error_kind}: {first.error_message}"
        )
    if len(failed) > 200:
        lines.append(f"... and {len(failed) - 200} more (see the manifest)")
    return "\n".join(lines)


@dataclass(frozen=True)
class _LogLine:
    """A warning for the run log, written by the body's thread like every other event."""

    message: str


_Event = dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation


def _emit(context: dg.AssetExecutionContext, item: object) -> Iterator[_Event]:
    if isinstance(item, _LogLine):
        context.log.warning(item.message)
    elif isinstance(item, CheckVerdict):
        yield check_evaluation(context.instance, item)
    elif isinstance(item, _Event):
        yield item


def _check_output_name(context: dg.AssetExecutionContext, check_key: dg.AssetCheckKey) -> str:
    return str(context.assets_def.get_output_name_for_asset_check_key(check_key))


def _recheck(
    context: dg.AssetExecutionContext, keys: list[str], stages: frozenset[Stage]
) -> Iterator[dg.AssetCheckEvaluation | dg.Output[None]]:
    """Only checks were selected: check the outputs already recorded for these partitions."""
    priors = prior_results(context.instance, stages, keys)
    for key in keys:
        for stage in sorted(stages):
            prior = priors.get(key, {}).get(stage)
            if prior is None:
                context.log.info(f"{key} {stage}: nothing recorded yet, nothing to check")
                continue
            report = StageReport(
                result=prior.result,
                facts=prior.facts,
                source_version=prior.source_version or key,
                options_hash=prior.options_hash,
                generation=prior.generation,
                options=prior.options,
            )
            outcome = judge(report)
            if outcome is None:
                context.log.info(f"{key} {stage}: the output is not on this machine, not checked")
                continue
            yield check_evaluation(context.instance, CheckVerdict(stage, key, outcome))
    for check_key in context.selected_asset_check_keys:
        yield dg.Output(None, output_name=_check_output_name(context, check_key))


class _Recorder:
    """Turns stage reports into Dagster events and hands them to the body as they arrive."""

    def __init__(self, outputs: LocalOutputs | None, checked: frozenset[Stage]) -> None:
        self.failures: dict[str, list[MediaResult]] = {}
        self._outputs = outputs
        self._early: list[object] = []
        self._post: Callable[[object], None] = self._early.append
        self.checker = OutputChecker(self.post, checked)

    def post(self, item: object) -> None:
        """Hand ``item`` to the body (or keep it until the body attaches)."""
        self._post(item)

    def attach(self, post: Callable[[object], None]) -> list[object]:
        """From now on hand items to ``post``; returns what was recorded before."""
        self._post = post
        early, self._early = self._early, []
        return early

    def record(self, report: StageReport) -> None:
        result = report.result
        metadata = result_metadata(report, self._outputs)
        description = result_description(report)
        tags = result_tags(report)
        asset_key = dg.AssetKey(str(result.stage))
        if result.status == ResultStatus.FAILED:
            self.failures.setdefault(result.partition_key, []).append(result)
            self._post(
                _LogLine(
                    f"{result.partition_key} {result.stage} failed: {result.error_kind}: "
                    f"{result.error_message}"
                )
            )
            self._post(
                dg.AssetObservation(
                    asset_key=asset_key,
                    partition=result.partition_key,
                    metadata=metadata,
                    description=description,
                    tags=tags,
                )
            )
        else:
            self._post(
                dg.AssetMaterialization(
                    asset_key=asset_key,
                    partition=result.partition_key,
                    metadata=metadata,
                    description=description,
                    tags=tags,
                )
            )
        self.checker.submit(report)

    def record_failure(
        self, key: str, source_uri: str, stage: Stage, kind: str, message: str
    ) -> None:
        result = MediaResult(
            partition_key=key,
            source_uri=source_uri,
            stage=stage,
            status=ResultStatus.FAILED,
            error_kind=kind,
            error_message=message,
            completed_at=int(time.time() * 1000),
        )
        self.record(
            StageReport(
                result=result, facts=None, source_version=key, options_hash=None, generation=0
            )
        )

    def record_retry(self, event: RetryEvent) -> None:
        self._post(
            _LogLine(
                f"retrying {event.request} in {event.wait:.2f}s (retry {event.retry_number}"
                f"{', Retry-After' if event.retry_after else ''}): {event.error}"
            )
        )
