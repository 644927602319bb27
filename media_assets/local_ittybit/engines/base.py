"""What an engine is, and the handle it gets for one running job."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from .. import jobs
from ..jobs import Json

T = TypeVar("T")


class JobRun:
    """One job while it is processing: its live document plus the means to change it.

    Engines call ``start_task``/``finish_task``; the scheduler decides the final status from what
    ``Engine.run`` returns or raises. ``cancel`` is set when the job must stop (user cancel or
    service shutdown); blocking work checks it, e.g. to kill ffmpeg.
    """

    def __init__(self, job: Json, on_change: Callable[[], None]) -> None:
        self.job = job
        self.cancel = threading.Event()
        self.user_cancelled = False
        self.expected_s: float | None = None
        self._on_change = on_change
        self._loop = asyncio.get_running_loop()
        self._started = time.monotonic()

    @property
    def job_id(self) -> str:
        return str(self.job["id"])

    def start_task(self, index: int, task_input: Json | None = None) -> None:
        jobs.start_task(self.job, index, task_input)
        self._on_change()

    def finish_task(self, index: int, output: Json) -> None:
        jobs.finish_task(self.job, index, output)
        self._on_change()

    def report_progress(self, percent: int) -> None:
        """Thread-safe: worker threads report progress through the event loop."""
        self._loop.call_soon_threadsafe(self._apply_progress, percent)

    def estimate_progress(self) -> None:
        """For engines that only know how long a job should take: progress from elapsed time."""
        if self.expected_s:
            elapsed = time.monotonic() - self._started
            jobs.set_progress(self.job, int(100 * elapsed / self.expected_s))

    async def in_thread(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking work in a thread; if this job is cancelled, stop it and wait for it.

        Waiting keeps the job's worker slot taken until the thread (and its ffmpeg) is really
        gone, so cancelling never lets more work run at once than ``workers`` allows.
        """
        work = asyncio.ensure_future(asyncio.to_thread(func, *args, **kwargs))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            self.cancel.set()
            with contextlib.suppress(BaseException):
                await work
            raise

    def _apply_progress(self, percent: int) -> None:
        if jobs.set_progress(self.job, percent):
            self._on_change()


class Engine(Protocol):
    """Does the work of jobs and standalone probe tasks."""

    async def run(self, run: JobRun) -> str:
        """Run the job's tasks and return the output URL; raise MediaError on failure."""
        ...

    async def probe(self, url: str) -> Json:
        """A File object describing ``url``; raise MediaError if it cannot be read."""
        ...
