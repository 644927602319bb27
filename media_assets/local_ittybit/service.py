"""The running service: its parts, wired together, and what happens at start and stop."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from . import jobs
from .config import ServiceConfig
from .engines import Engine, make_engine
from .inputs import check_input_url
from .media import MediaError
from .repository import JobRepository
from .scheduler import Scheduler
from .stats import Stats
from .store import Store

log = logging.getLogger(__name__)

_DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class Service:
    """One instance per app; request handlers reach it through ``request.app.state.service``."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.started_monotonic = time.monotonic()
        self.store = Store(config.database_path)
        self.repository = JobRepository(self.store)
        self.stats = Stats()
        self.http = httpx.AsyncClient(timeout=_DOWNLOAD_TIMEOUT, follow_redirects=True)
        self.engine: Engine = make_engine(config, self.http)
        self.scheduler = Scheduler(
            self.repository, self.engine, config.effective_workers, self.stats
        )

    async def start(self) -> None:
        """Resume unfinished jobs from an earlier run, then start background work."""
        if self.config.engine == "ffmpeg":
            # Each processing job holds a thread while ffmpeg runs; the default pool (CPU + 4)
            # would quietly cap --workers and leave probes of POST /tasks waiting behind encodes.
            workers = self.config.effective_workers + 4
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="media")
            asyncio.get_running_loop().set_default_executor(executor)
        self.config.added_roots.load(self.config.added_roots_path)
        self.config.files_dir.mkdir(parents=True, exist_ok=True)
        self.config.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._clear_stale_downloads()
        resumed = self._resume_unfinished_jobs()
        if resumed:
            log.info("resuming %d unfinished job(s) from %s", resumed, self.config.data_dir)
        self.repository.start_flushing()

    async def stop(self) -> None:
        """Stop workers, write every pending change, close the database."""
        await self.scheduler.stop()
        await self.repository.stop_flushing()
        await self.http.aclose()
        self.store.close()

    def _resume_unfinished_jobs(self) -> int:
        unfinished = self.store.unfinished_jobs()
        for job in unfinished:
            # Work interrupted mid-way starts over: partial outputs are simply overwritten.
            if job["status"] == "processing":
                jobs.requeue_job(job)
            self.repository.adopt(job)
            try:
                check_input_url(job["input"], self.config)
            except MediaError as exc:
                jobs.fail_job(
                    job,
                    {
                        "kind": "interrupted",
                        "message": "the service restarted before this job finished and cannot"
                        f" run it again: {exc.message}",
                    },
                )
                continue
            self.scheduler.submit(job["id"])
        return len(unfinished)

    def _clear_stale_downloads(self) -> None:
        # Downloads of a previous run belong to jobs that will download again when re-run.
        for leftover in self.config.tmp_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
