"""Jobs in memory while they change, in SQLite for good.

A job is written to SQLite when it is created (before the 201 goes out), so an accepted job is
never lost. Later transitions change the in-memory document and mark it dirty; a background flush
writes dirty jobs in batches. Losing the last few transitions in a crash is harmless: restart
re-runs any job that was not finished. Only the event-loop thread touches this object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from .jobs import Json, is_terminal
from .store import IdempotencyRecord, Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.05


class JobRepository:
    """The one place jobs are read and written."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._live: dict[str, Json] = {}
        self._dirty: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None

    def create(self, job: Json, key: IdempotencyRecord | None = None) -> None:
        self._store.insert_job(job, key)
        self._live[job["id"]] = job

    def adopt(self, job: Json) -> None:
        """Take over a job loaded from disk so the scheduler can change it."""
        self._live[job["id"]] = job
        self._dirty.add(job["id"])

    def get(self, job_id: str) -> Json | None:
        """The freshest document of a job, or None if it does not exist."""
        live = self._live.get(job_id)
        return live if live is not None else self._store.get_job(job_id)

    def live(self, job_id: str) -> Json | None:
        """The in-memory document of an unfinished (or not yet flushed) job."""
        return self._live.get(job_id)

    def changed(self, job_id: str) -> None:
        """Note that a live job's document changed and must be written."""
        self._dirty.add(job_id)

    def flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        documents = [self._live[job_id] for job_id in dirty if job_id in self._live]
        try:
            self._store.save_jobs(documents)
        except Exception:
            self._dirty |= dirty
            raise
        for document in documents:
            if is_terminal(document):
                self._live.pop(document["id"], None)

    def select(
        self,
        *,
        filters: Mapping[str, str],
        above_id: str | None,
        below_id: str | None,
        descending: bool,
        limit: int,
    ) -> list[Json]:
        # Flushing first makes the status filter see the current statuses.
        self.flush()
        return self._store.select_jobs(
            filters=filters,
            above_id=above_id,
            below_id=below_id,
            descending=descending,
            limit=limit,
        )

    def count_by_status(self) -> dict[str, int]:
        self.flush()
        return self._store.count_jobs_by_status()

    def start_flushing(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="job-flusher")

    async def stop_flushing(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                self.flush()
            except Exception:
                # The batch stays dirty and is retried on the next tick.
                log.exception("writing job changes to the database failed")
