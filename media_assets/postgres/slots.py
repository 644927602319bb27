"""The in-flight cap across every machine: ``size`` slots as PostgreSQL advisory locks.

A remote job holds one slot while it is in flight. Slot ``i`` of a cap of ``size`` is the
session-level advisory lock ``(space, i)``; it is taken with ``pg_try_advisory_lock`` on this
process's *holder* session and given back with ``pg_advisory_unlock``. Session locks belong to
the connection: when a process dies its connections close and the server releases every slot it
held, the same guarantee ``flock`` gives on one machine (``media_assets.engine.slots``). A machine
that vanishes without closing its sockets is found dead by TCP keepalives (about half a minute,
``media_assets.postgres.connection``).

Fair between runs: a process looking for a slot first queues for a *turn*, a blocking advisory
lock on a second session. PostgreSQL grants a contended lock to its waiters in arrival order, and
each process queues with one request at a time, so free slots go to the waiting processes in turn
instead of to whichever polls fastest; a run with 100 jobs waiting gets no more turns than a run
with one. The process holding the turn takes the first free slot, or waits for a release
(``NOTIFY`` from the releasing process, with a short poll as a fallback for slots freed by a dead
session), then gives the turn up.

Cheap at hundreds of slots: two sessions per process, and a grant costs three round trips, with
the free slot found by one statement on the server. Database calls run in worker threads, never
on the event loop that polls remote jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import psycopg2.extensions

from media_assets.postgres.connection import lock_space, session

POLL_INTERVAL_S = 0.5
_CANCEL_WAIT_S = 10.0


class AdvisoryLockSlots:
    """``size`` slots shared by every process on the database at ``url``.

    Processes using the same ``name`` and ``size`` share the same slots. Implements
    ``media_assets.engine.slots.SharedSlots``.
    """

    def __init__(
        self,
        url: str,
        size: int,
        *,
        name: str = "in_flight",
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        if size < 1:
            raise ValueError("slots size must be >= 1")
        self.size = size
        self._url = url
        self._space = lock_space(f"slots:{name}:{size}")
        self._turn_lock = (lock_space(f"turn:{name}:{size}"), 0)
        self._channel = f"media_assets_slots_{self._space & 0xFFFFFFFF:08x}"
        self._poll = poll_interval
        self._held: set[int] = set()
        self._holder: psycopg2.extensions.connection | None = None
        self._holder_lock = threading.Lock()  # the holder session is used by one thread at a time
        self._waiter: psycopg2.extensions.connection | None = None
        self._waiter_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slots-turn")
        self._wake_read, self._wake_write = os.pipe()
        self._abandon = threading.Event()
        self._turn = asyncio.Lock()  # one request per process in the turn queue
        self._closed = False

    @property
    def held(self) -> frozenset[int]:
        """The slots this process holds now."""
        return frozenset(self._held)

    async def acquire(self) -> int:
        """Wait for a free slot, in turn with the other processes; returns its index."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            self._abandon.clear()
            future = loop.run_in_executor(self._waiter_thread, self._wait_for_slot)
            try:
                index = await asyncio.shield(future)
            except asyncio.CancelledError:
                self._interrupt()
                with contextlib.suppress(Exception):
                    late = await asyncio.wait_for(future, _CANCEL_WAIT_S)
                    if late is not None:  # granted as we were cancelled: hand it back
                        await self.release(late)
                raise
            if index is None:
                raise RuntimeError("slots closed while waiting for one")
            return index

    async def release(self, index: int) -> None:
        """Give slot ``index`` back and tell the process holding the turn."""
        await asyncio.get_running_loop().run_in_executor(None, self._release_now, index)

    def close(self) -> None:
        """Stop waiting, end both sessions (the server frees every slot they held)."""
        if self._closed:
            return
        self._closed = True
        self._interrupt()
        self._waiter_thread.shutdown(wait=True, cancel_futures=True)
        with self._holder_lock:
            for connection in (self._holder, self._waiter):
                if connection is not None:
                    connection.close()
            self._holder = self._waiter = None
            self._held.clear()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # -- the waiter thread ---------------------------------------------------------------------

    def _wait_for_slot(self) -> int | None:
        """Queue for the turn, then take the first free slot; None when abandoned."""
        while not self._abandon.is_set():
            try:
                waiter = self._waiter_session()
                with waiter.cursor() as cursor:
                    # Blocks in the server's lock queue, first come first served.
                    cursor.execute(
                        f"SELECT pg_advisory_lock(%s, %s); LISTEN {self._channel}", self._turn_lock
                    )
            except psycopg2.extensions.QueryCanceledError:
                continue  # interrupted (abandoned, or a stale cancel): look at the flag again
            except psycopg2.OperationalError:
                self._waiter = None  # the session was lost: a new one queues again
                self._abandon.wait(self._poll)
                continue
            try:
                return self._wait_with_turn(waiter)
            finally:
                self._give_up_turn(waiter)
        return None

    def _wait_with_turn(self, waiter: psycopg2.extensions.connection) -> int | None:
        while not self._abandon.is_set():
            waiter.poll()
            waiter.notifies.clear()  # notices before this look are answered by it
            index = self._try_take()
            if index is not None:
                return index
            ready, _, _ = select.select([waiter.fileno(), self._wake_read], [], [], self._poll)
            if self._wake_read in ready:
                os.read(self._wake_read, 1024)
        return None

    def _give_up_turn(self, waiter: psycopg2.extensions.connection) -> None:
        # The turn must never stay held: a cancel arriving late could hit this statement.
        for _ in range(3):
            try:
                with waiter.cursor() as cursor:
                    cursor.execute("UNLISTEN *; SELECT pg_advisory_unlock_all()")
                return
            except psycopg2.extensions.QueryCanceledError:
                continue
        waiter.close()  # closing the session frees the turn whatever happened
        self._waiter = None

    def _waiter_session(self) -> psycopg2.extensions.connection:
        if self._waiter is None or self._waiter.closed:
            self._waiter = session(self._url, purpose="slots-turn")
        return self._waiter

    def _interrupt(self) -> None:
        self._abandon.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")
        waiter = self._waiter
        if waiter is not None and not waiter.closed:
            with contextlib.suppress(psycopg2.Error):
                waiter.cancel()  # ends a wait for the turn; a no-op when idle

    # -- the holder session --------------------------------------------------------------------

    def _try_take(self) -> int | None:
        with self._holder_lock:
            free = [index for index in range(self.size) if index not in self._held]
            if not free:
                return None
            try:
                with self._holder_session().cursor() as cursor:
                    # Rows are produced one at a time and LIMIT stops the scan at the first lock
                    # taken, so exactly one slot is locked. Own slots are excluded: a session may
                    # take its own advisory lock twice.
                    cursor.execute(
                        "SELECT slot FROM unnest(%s::int[]) AS slot"
                        " WHERE pg_try_advisory_lock(%s, slot) LIMIT 1",
                        (free, self._space),
                    )
                    row = cursor.fetchone()
            except psycopg2.OperationalError:
                self._drop_holder()  # its slots went with it; a new session starts empty
                return None
            if row is None:
                return None
            index = int(row[0])
            self._held.add(index)
            return index

    def _release_now(self, index: int) -> None:
        with self._holder_lock:
            if index not in self._held or self._holder is None:
                return
            try:
                with self._holder.cursor() as cursor:
                    cursor.execute(
                        f"SELECT pg_advisory_unlock(%s, %s); NOTIFY {self._channel}",
                        (self._space, index),
                    )
            except psycopg2.OperationalError:
                self._drop_holder()  # the lock went with the lost session
            self._held.discard(index)

    def _holder_session(self) -> psycopg2.extensions.connection:
        if self._holder is None or self._holder.closed:
            self._holder = session(self._url, purpose="slots")
            self._held.clear()  # a new session holds nothing
        return self._holder

    def _drop_holder(self) -> None:
        if self._holder is not None:
            with contextlib.suppress(psycopg2.Error):
                self._holder.close()
        self._holder = None
        self._held.clear()
