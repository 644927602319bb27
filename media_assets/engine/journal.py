"""The job journal: which remote job each (file, stage) has, written before anyone waits on it.

A remote job, once created, must never be lost: a crashed run, a service that cannot be reached
for a while, or a stage that ran out of time all leave a job that may still finish and that was
paid for. So the chain records the job's id the moment the service has accepted it, and awaits
that record being stored before it starts waiting. The next attempt at the same stage looks in
the journal first and re-attaches to that job by id (if it has not failed remotely) before it
would create anything. The Idempotency-Key stays as a safety net for the instant between the
service accepting a job and the record being stored.

``JobJournal`` is the seam: the Dagster definitions store entries in the instance's storage (so
every machine of a deployment sees them); ``MemoryJournal`` serves tests and single-process use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from media_assets.results import Stage


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    """The remote job of one (file, stage), and what it was created for."""

    job_id: str
    idempotency_key: str
    options_hash: str
    source_version: str
    generation: int
    force_token: str = ""  # set when a forced run created it: only that run re-attaches
    # The media kind a probe of this source reported, when known: the ingest chooses its job's
    # kind before probing, and a later run re-attaching to the job must choose the same.
    media_kind: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JournalEntry | None:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def same_source(self, *, source_version: str, force_token: str) -> bool:
        """Whether this job was made from the same source version (and forced run, if any)."""
        return self.source_version == source_version and self.force_token == force_token

    def serves(self, *, options_hash: str, source_version: str, force_token: str) -> bool:
        """Whether this job was made for the same work (same input, options and force)."""
        return self.options_hash == options_hash and self.same_source(
            source_version=source_version, force_token=force_token
        )


def journal_key(partition_key: str, stage: Stage) -> str:
    return f"media_assets/job/{stage}/{partition_key}"


class JobJournal(Protocol):
    async def recall(self, partition_key: str, stage: Stage) -> JournalEntry | None:
        """The last job recorded for this (file, stage), if any."""
        ...

    async def record(self, partition_key: str, stage: Stage, entry: JournalEntry) -> None:
        """Store ``entry``; returns once it is durable."""
        ...


class MemoryJournal:
    """A journal in a dict: durable for as long as the process lives."""

    def __init__(self) -> None:
        self.entries: dict[str, JournalEntry] = {}

    async def recall(self, partition_key: str, stage: Stage) -> JournalEntry | None:
        return self.entries.get(journal_key(partition_key, stage))

    async def record(self, partition_key: str, stage: Stage, entry: JournalEntry) -> None:
        self.entries[journal_key(partition_key, stage)] = entry


class KeyValueJournal:
    """A journal over a blocking key-value store, read once per batch and written in batches.

    ``load(keys)`` and ``save(pairs)`` are the store; they run in a worker thread so the event
    loop keeps polling other jobs. Records that arrive while a save is in progress are written
    together by the next one, so a burst of new jobs costs a few transactions, not one each.
    """

    def __init__(
        self,
        *,
        load: Callable[[set[str]], Mapping[str, str]],
        save: Callable[[Mapping[str, str]], None],
        chunk: int = 500,
    ) -> None:
        self._load = load
        self._save = save
        self._chunk = chunk
        self._known: dict[str, JournalEntry] = {}
        self._pending: dict[str, str] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def preload(self, partition_keys: Iterable[str], stages: Iterable[Stage]) -> None:
        """Read every entry of these files and stages in a few queries."""
        wanted = [journal_key(key, stage) for key in partition_keys for stage in stages]
        for start in range(0, len(wanted), self._chunk):
            found = await asyncio.to_thread(self._load, set(wanted[start : start + self._chunk]))
            for name, text in found.items():
                entry = JournalEntry.from_json(text) if text else None
                if entry is not None:
                    self._known[name] = entry

    async def recall(self, partition_key: str, stage: Stage) -> JournalEntry | None:
        return self._known.get(journal_key(partition_key, stage))

    async def record(self, partition_key: str, stage: Stage, entry: JournalEntry) -> None:
        name = journal_key(partition_key, stage)
        self._known[name] = entry
        self._pending[name] = entry.to_json()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a cancelled stage still leaves its record to be written by the flusher.
        await asyncio.shield(waiter)

    async def _flush(self) -> None:
        while self._pending:
            pairs, self._pending = self._pending, {}
            waiters, self._waiters = self._waiters, []
            try:
                await asyncio.to_thread(self._save, pairs)
            except Exception as error:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
                continue
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
