"""Runs queued jobs on a fixed number of worker slots, like a plan's concurrency limit.

Jobs wait ``queued`` in submission order until a slot frees. Each running job is one asyncio
task; engines push blocking work to threads. Nothing idles: a task exists only per running job,
so a thousand simulated slots cost nothing until used.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from . import jobs
from .engines import Engine, JobRun
from .jobs import Json
from .media import MediaError
from .repository import JobRepository
from .stats import Stats

log = logging.getLogger(__name__)


class Scheduler:
    """Owns the queue and the running jobs; the only code that moves a job between statuses."""

    def __init__(
        self, repository: JobRepository, engine: Engine, workers: int, stats: Stats
    ) -> None:
        self._repository = repository
        self._engine = engine
        self._workers = workers
        self._stats = stats
        self._waiting: dict[str, None] = {}  # insertion-ordered set of queued job ids
        self._running: dict[str, tuple[JobRun, asyncio.Task[None]]] = {}
        self._ended: dict[str, asyncio.Event] = {}  # set when the job becomes terminal
        self._stopping = False

    def submit(self, job_id: str) -> None:
        """Queue a job the repository holds live; it starts as soon as a slot is free."""
        self._waiting[job_id] = None
        self._start_what_fits()

    def cancel(self, job_id: str) -> None:
        """Cancel a queued or processing job now; its worker is stopped in the background."""
        job = self._repository.live(job_id)
        if job is None or jobs.is_terminal(job):
            return
        jobs.cancel_job(job)
        self._repository.changed(job_id)
        self._announce_end(job_id)
        if job_id in self._waiting:
            del self._waiting[job_id]
            self._observe()
            return
        entry = self._running.get(job_id)
        if entry is not None:
            run, task = entry
            run.user_cancelled = True
            run.cancel.set()
            task.cancel()

    async def wait_until_terminal(self, job_id: str, timeout: float) -> None:
        """Return once the job is terminal, or after ``timeout`` seconds, whichever is first."""
        job = self._repository.live(job_id)
        if job is None or jobs.is_terminal(job) or timeout <= 0:
            return
        ended = self._ended.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), timeout)

    def _announce_end(self, job_id: str) -> None:
        ended = self._ended.pop(job_id, None)
        if ended is not None:
            ended.set()

    def refresh_progress(self, job_id: str) -> None:
        """Bring an estimated progress up to date before the job is shown."""
        entry = self._running.get(job_id)
        if entry is not None:
            entry[0].estimate_progress()

    async def stop(self) -> None:
        """Stop all work without touching job statuses, so a restart picks the jobs up again."""
        self._stopping = True
        self._waiting.clear()
        for ended in self._ended.values():  # held requests answer now, with the job as it is
            ended.set()
        self._ended.clear()
        tasks = [task for _, task in self._running.values()]
        for run, task in self._running.values():
            run.cancel.set()
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start_what_fits(self) -> None:
        while self._waiting and len(self._running) < self._workers and not self._stopping:
            job_id = next(iter(self._waiting))
            del self._waiting[job_id]
            job = self._repository.live(job_id)
            if job is None or job["status"] != "queued":
                continue
            jobs.start_job(job)
            self._repository.changed(job_id)
            run = JobRun(job, functools.partial(self._repository.changed, job_id))
            task = asyncio.create_task(self._run(run), name=f"job {job_id}")
            self._running[job_id] = (run, task)
        self._observe()

    async def _run(self, run: JobRun) -> None:
        job = run.job
        try:
            output_url = await self._engine.run(run)
        except asyncio.CancelledError:
            if not run.user_cancelled:
                raise  # service shutdown: leave the job processing so a restart re-runs it
        except MediaError as exc:
            if not jobs.is_terminal(job):
                jobs.fail_job(job, _error_naming_input(exc, job["input"]))
        except OSError as exc:
            # The service's own storage (outputs, downloads): name the path, not just the errno.
            if not jobs.is_terminal(job):
                where = exc.filename or "the service's data folder"
                jobs.fail_job(
                    job, {"kind": "storage_error", "message": f"{where}: {exc.strerror or exc}"}
                )
        except Exception as exc:
            log.exception("job %s failed unexpectedly", run.job_id)
            if not jobs.is_terminal(job):
                jobs.fail_job(job, {"kind": "internal_error", "message": f"{exc!r}"})
        else:
            if not jobs.is_terminal(job):
                jobs.succeed_job(job, output_url)
        finally:
            self._repository.changed(run.job_id)
            if jobs.is_terminal(job):
                self._announce_end(run.job_id)
            self._running.pop(run.job_id, None)
            self._start_what_fits()

    def _observe(self) -> None:
        self._stats.observe(queued=len(self._waiting), processing=len(self._running))


def _error_naming_input(error: MediaError, input_url: str) -> Json:
    """The job error for ``error``, making sure its message says which input it is about."""
    name = PurePosixPath(unquote(urlsplit(input_url).path)).name
    message = error.message
    if input_url not in message and (not name or name not in message):
        message = f"{input_url}: {message}"
    return {"kind": error.kind, "message": message}
