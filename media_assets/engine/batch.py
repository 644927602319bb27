"""Many files at once: a bounded number of remote jobs in flight, no barrier between stages.

Files start as soon as there is room; each runs its own chain, so one file's transcode overlaps
another's ingest. ``max_in_flight`` bounds the remote jobs of this batch; optional
``SharedSlots`` bound them across every process (of the machine, or of the deployment).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from media_assets.engine.chain import (
    INGEST_PRIORITY,
    ChainSettings,
    FileChain,
    FileTask,
    ReportSink,
)
from media_assets.engine.journal import JobJournal, MemoryJournal
from media_assets.engine.slots import JobSlots, SharedSlots
from media_assets.ittybit import IttybitClient
from media_assets.results import MediaResult


@dataclass
class BatchOutcome:
    """Which files failed, with their failed stage results."""

    failed: dict[str, list[MediaResult]] = field(default_factory=dict)
    files: int = 0
    jobs_in_flight_high_water: int = 0


async def run_batch(
    client: IttybitClient,
    tasks: Sequence[FileTask],
    *,
    settings: ChainSettings,
    max_in_flight: int,
    sink: ReportSink,
    shared_slots: SharedSlots | None = None,
    journal: JobJournal | None = None,
) -> BatchOutcome:
    """Run every task's chain; report each stage result to ``sink`` as it happens.

    ``journal`` keeps the remote job of every stage (see ``engine.journal``); without one, jobs
    are remembered for this batch only.
    """
    slots = JobSlots(max_in_flight, shared_slots)
    outcome = BatchOutcome(files=len(tasks))
    jobs = journal if journal is not None else MemoryJournal()

    async def one(task: FileTask) -> None:
        failed = await FileChain(client, slots, settings, task, sink, jobs).run()
        if failed:
            outcome.failed[task.key] = failed

    # A few more files than job slots, so that while some files probe or wait on a result
    # others keep the slots busy; tasks are created as room frees, not 50,000 up front.
    window = max_in_flight + max(2, max_in_flight // 4)
    pending: set[asyncio.Task[None]] = set()
    try:
        for task in tasks:
            if len(pending) >= window:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    finished.result()
            pending.add(asyncio.create_task(one(task)))
        # Every file has started. The ones still waiting to be ingested are now the batch's
        # critical path: their deliverables cannot start before them, and with deliverables
        # served first they would start last, leaving slots idle at the end. From here ingests
        # go first. (Simulated, 1,000 files x 4 jobs of 2-6 s at C = 100, no overhead: mean E
        # 0.970, worst 0.947 over 30 seeds, becomes mean 0.980, worst 0.976.)
        slots.serve_first(INGEST_PRIORITY)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                finished.result()
    finally:
        # Cancelled (a terminated run) or failed: the chains still running cancel their
        # remote jobs on the way out; wait for them so no cancel is lost.
        for straggler in pending:
            straggler.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    outcome.jobs_in_flight_high_water = slots.run.in_use_high_water
    return outcome
