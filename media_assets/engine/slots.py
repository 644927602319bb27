"""Slots for remote jobs in flight: per run (asyncio) and across processes (``SharedSlots``).

``PrioritySlots`` bounds the jobs one run has in flight and serves waiters by priority, so a file
that is already ingested gets its deliverables made before a new file is ingested: files finish
steadily instead of all at the end. Near a batch's end the batch turns that order round (see
``engine.batch``).

``SharedSlots`` bound the jobs in flight across every run, so ``--max-in-flight N`` holds
whatever the run queue and files-per-run settings are. Two implement it:

- ``LockFileSlots``, every run on one machine: ``N`` lock files, a job holds one with ``flock``
  while it is in flight. The kernel releases a lock when its process dies, so a crashed run can
  never leak a slot.
- ``media_assets.postgres.slots.AdvisoryLockSlots``, every run on every machine sharing a
  database: ``N`` advisory locks the server releases when a holder's connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import heapq
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class PrioritySlots:
    """A semaphore whose waiters are served lowest ``priority`` first, FIFO within a priority.

    ``serve_first(p)`` puts priority ``p`` ahead of every other, waiters already queued included.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("slots size must be >= 1")
        self.size = size
        self._free = size
        self._first: int | None = None
        self._waiters: list[tuple[tuple[bool, int], int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.in_use_high_water = 0

    def _rank(self, priority: int) -> tuple[bool, int]:
        return (priority != self._first, priority)

    def serve_first(self, priority: int) -> None:
        """From now on serve waiters of ``priority`` before all others (FIFO among them)."""
        self._first = priority
        self._waiters = [
            (self._rank(level), order, level, future) for _, order, level, future in self._waiters
        ]
        heapq.heapify(self._waiters)

    @property
    def in_use(self) -> int:
        return self.size - self._free

    async def acquire(self, priority: int = 0) -> None:
        if self._free > 0 and not self._waiters:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self._rank(priority), next(self._order), priority, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted just as we were cancelled: hand it on
            raise

    def _take(self) -> None:
        self._free -= 1
        self.in_use_high_water = max(self.in_use_high_water, self.in_use)

    def release(self) -> None:
        self._free += 1
        while self._waiters and self._free > 0:
            *_, future = heapq.heappop(self._waiters)
            if not future.done():
                self._take()
                future.set_result(None)

    @contextlib.asynccontextmanager
    async def hold(self, priority: int = 0) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


class SharedSlots(Protocol):
    """``size`` slots shared between processes; a slot a dead process held comes free."""

    size: int

    async def acquire(self) -> int:
        """Wait for a free slot; returns its index."""
        ...

    async def release(self, index: int) -> None:
        """Give slot ``index`` back."""
        ...

    def close(self) -> None:
        """Give every slot back and free what the slots hold open."""
        ...


class LockFileSlots:
    """``size`` machine-wide slots backed by ``flock`` on files in ``folder``.

    A slot another process frees is noticed by polling every ``poll_interval`` seconds (``flock``
    tells no one); one this process frees wakes its waiter at once.
    """

    def __init__(self, folder: Path, size: int, *, poll_interval: float = 0.02) -> None:
        if size < 1:
            raise ValueError("slots size must be >= 1")
        folder.mkdir(parents=True, exist_ok=True)
        self.size = size
        self._paths = [folder / f"slot-{i:05d}.lock" for i in range(size)]
        self._fds: dict[int, int] = {}
        self._held: set[int] = set()
        self._poll = poll_interval
        self._turn = asyncio.Lock()  # one poller per process; the rest queue behind it
        self._freed = asyncio.Event()  # set when this process gives a slot back

    def _try_take(self) -> int | None:
        for index, path in enumerate(self._paths):
            if index in self._held:
                continue
            fd = self._fds.get(index)
            if fd is None:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                self._fds[index] = fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held.add(index)
            return index
        return None

    async def acquire(self) -> int:
        async with self._turn:
            while True:
                self._freed.clear()  # before looking: a slot freed from here on wakes us
                index = self._try_take()
                if index is not None:
                    return index
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), self._poll)

    async def release(self, index: int) -> None:
        fcntl.flock(self._fds[index], fcntl.LOCK_UN)
        self._held.discard(index)
        self._freed.set()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._held.clear()


class JobSlots:
    """What a remote job holds while in flight: a run slot, then a shared slot if any."""

    def __init__(self, per_run: int, shared: SharedSlots | None = None) -> None:
        self.run = PrioritySlots(per_run)
        self.shared = shared
        # Shared slots go to this process's waiters one at a time; without this gate that order
        # would be the order run slots were granted, and a run holding more run slots than its
        # share of the shared ones would lose its priorities there.
        self._turn = PrioritySlots(1)

    def serve_first(self, priority: int) -> None:
        """Serve jobs of ``priority`` before all others, for run slots and shared ones."""
        self.run.serve_first(priority)
        self._turn.serve_first(priority)

    @contextlib.asynccontextmanager
    async def hold(self, priority: int = 0) -> AsyncIterator[None]:
        async with self.run.hold(priority):
            if self.shared is None:
                yield
                return
            async with self._turn.hold(priority):
                index = await self.shared.acquire()
            try:
                yield
            finally:
                await self.shared.release(index)
