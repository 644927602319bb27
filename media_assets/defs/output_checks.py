"""``output_valid``: the asset check of every stage's output, evaluated as each output lands.

The pipeline checks each output right after recording it, off the event loop that polls remote
jobs, and yields the verdict as that partition's check evaluation (the rules are in
``media_assets.outputs.checks``). A stage that does not apply passes, saying so; a stage that
failed fails, with the reason: both show per partition on the asset's Checks tab. Executing the
check alone (the UI's "Execute") checks the outputs already recorded.

Only outputs in the local service's output folder can be read here. With the hosted API the
checks are not defined at all (they could only be guessed), and an output this machine cannot
find (the simulate engine writes none) gets no verdict; the run log says how many.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from media_assets.defs.latest_results import OUTPUT_CHECK
from media_assets.defs.partitions import media_files
from media_assets.engine.chain import StageReport
from media_assets.instance.check_records import target_of_latest_materialization
from media_assets.outputs.checks import CheckOutcome, check_output, outcome_without_output
from media_assets.outputs.inspect import inspect_output
from media_assets.results import ALL_STAGES, ResultStatus, Stage

CHECK_DESCRIPTION = (
    "The output decodes (first frames and its end), has the requested format and codec, lasts "
    "as long as the source within 0.1 s (time-based outputs), has the requested size with the "
    "source's aspect kept (pictures), and a thumbnail is not one flat colour. A stage that does "
    "not apply passes with no output; a stage that failed fails, with the reason."
)


def output_check_specs(stages: Sequence[Stage] = ALL_STAGES) -> list[dg.AssetCheckSpec]:
    """One partitioned ``output_valid`` check per stage of ``stages``."""
    with warnings.catch_warnings():
        # Partitioned check specs are a preview feature of Dagster 1.13; it is the feature.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            dg.AssetCheckSpec(
                OUTPUT_CHECK,
                asset=str(stage),
                partitions_def=media_files,
                description=CHECK_DESCRIPTION,
            )
            for stage in stages
        ]


@dataclass(frozen=True)
class CheckVerdict:
    """The outcome of one output's check, on its way to the body that yields it."""

    stage: Stage
    partition_key: str
    outcome: CheckOutcome


def judge(report: StageReport) -> CheckOutcome | None:
    """The verdict on a reported result; None when its output cannot be read here."""
    result = report.result
    without_output = outcome_without_output(result)
    if without_output is not None or result.status != ResultStatus.SUCCEEDED:
        return without_output
    if result.output_path is None:
        return None
    path = Path(result.output_path)
    if not path.is_file():
        return CheckOutcome(False, f"the output file is gone: {path}")
    return check_output(
        result.stage, result.kind or "", report.options or {}, report.facts, inspect_output(path)
    )


class OutputChecker:
    """Checks reported outputs in worker threads and posts each verdict as it is known."""

    def __init__(self, post: Callable[[object], None], stages: frozenset[Stage]) -> None:
        self._post = post
        self._stages = stages
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self.unchecked = 0  # outputs that are not on this machine

    def submit(self, report: StageReport) -> None:
        """Check ``report``'s output; a stage without output is judged at once."""
        result = report.result
        if result.stage not in self._stages:
            return
        if result.status != ResultStatus.SUCCEEDED:
            outcome = outcome_without_output(result)
            if outcome is not None:
                self._post(CheckVerdict(result.stage, result.partition_key, outcome))
            return
        if result.output_path is None:
            self.unchecked += 1
            return
        task = asyncio.get_running_loop().create_task(self._check(report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, report: StageReport) -> None:
        if self._slots is None:
            # Decoding is CPU work: no more at once than there are cores.
            self._slots = asyncio.Semaphore(os.cpu_count() or 1)
        async with self._slots:
            outcome = await asyncio.to_thread(judge, report)
        if outcome is not None:
            self._post(CheckVerdict(report.result.stage, report.result.partition_key, outcome))

    async def drain(self) -> None:
        """Wait for every check submitted so far (and those they lead to)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def check_evaluation(
    instance: dg.DagsterInstance, verdict: CheckVerdict
) -> dg.AssetCheckEvaluation:
    """The evaluation event of ``verdict``, about the partition's latest materialization."""
    asset_key = dg.AssetKey(str(verdict.stage))
    outcome = verdict.outcome
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=OUTPUT_CHECK,
        passed=outcome.passed,
        partition=verdict.partition_key,
        description=outcome.summary,
        metadata=_findings(outcome.findings),
        target_materialization_data=target_of_latest_materialization(
            instance, asset_key, verdict.partition_key
        ),
    )


def _findings(findings: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in findings.items() if value is not None}
