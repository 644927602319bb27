"""Slots in the database: one cap across processes, fair between them, nothing leaked."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import time
from pathlib import Path

import psycopg2
import pytest

from media_assets.engine.slots import JobSlots
from media_assets.postgres.connection import lock_space
from media_assets.postgres.slots import AdvisoryLockSlots

SPAWN = multiprocessing.get_context("spawn")
WORKER_TIMEOUT_S = 90


def _hold_slots(url: str, size: int, jobs: int, hold_s: float, log: str, start: str) -> None:
    """Run ``jobs`` jobs that each hold a slot for ``hold_s``; log grants and releases."""

    async def run() -> None:
        shared = AdvisoryLockSlots(url, size, poll_interval=0.05)
        slots = JobSlots(jobs, shared)
        deadline = time.monotonic() + 30
        while not Path(start).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

        async def job() -> None:
            async with slots.hold():
                with open(log, "a") as handle:
                    handle.write(f"+ {time.time()} {multiprocessing.current_process().name}\n")
                await asyncio.sleep(hold_s)
                with open(log, "a") as handle:
                    handle.write(f"- {time.time()} {multiprocessing.current_process().name}\n")

        try:
            await asyncio.gather(*(job() for _ in range(jobs)))
        finally:
            shared.close()

    asyncio.run(run())


def run_workers(url: str, tmp_path: Path, *, workers: int, size: int, jobs: int, hold_s: float):
    """Start ``workers`` processes at once; returns the log lines (sign, time, worker)."""
    log, start = tmp_path / "log.txt", tmp_path / "start"
    processes = [
        SPAWN.Process(
            target=_hold_slots,
            args=(url, size, jobs, hold_s, str(log), str(start)),
            name=f"worker-{index}",
        )
        for index in range(workers)
    ]
    try:
        for process in processes:
            process.start()
        time.sleep(1.0)  # every worker imported and waiting at the start line
        start.touch()
        for process in processes:
            process.join(timeout=WORKER_TIMEOUT_S)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    events = [line.split() for line in log.read_text().splitlines()]
    return sorted((float(stamp), sign, name) for sign, stamp, name in events)


def test_slots_bound_jobs_across_processes(postgres_url: str, tmp_path: Path) -> None:
    """Three processes each wanting 4 jobs in flight share a cap of 2."""
    events = run_workers(postgres_url, tmp_path, workers=3, size=2, jobs=4, hold_s=0.05)
    in_flight = high_water = 0
    for _, sign, _ in events:
        in_flight += 1 if sign == "+" else -1
        high_water = max(high_water, in_flight)
    assert len(events) == 3 * 4 * 2
    assert high_water == 2


def test_slots_are_handed_out_in_turn(postgres_url: str, tmp_path: Path) -> None:
    """With one slot and three busy processes, none takes more than two grants in a row."""
    events = run_workers(postgres_url, tmp_path, workers=3, size=1, jobs=8, hold_s=0.03)
    grants = [name for _, sign, name in events if sign == "+"]
    # Judge only while every process still has jobs waiting.
    first_done = min(
        max(i for i, name in enumerate(grants) if name == worker) for worker in set(grants)
    )
    contested = grants[: first_done + 1]
    longest = run = 1
    for before, after in itertools.pairwise(contested):
        run = run + 1 if after == before else 1
        longest = max(longest, run)
    assert len(set(contested)) == 3
    assert longest <= 2, contested


def _hold_forever(url: str, flag: str) -> None:
    async def run() -> None:
        await AdvisoryLockSlots(url, 1).acquire()
        Path(flag).touch()
        await asyncio.sleep(3600)

    asyncio.run(run())


def test_slot_of_a_killed_process_comes_free(postgres_url: str, tmp_path: Path) -> None:
    """A process killed while holding the only slot does not keep it."""
    flag = tmp_path / "held"
    holder = SPAWN.Process(target=_hold_forever, args=(postgres_url, str(flag)))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert time.monotonic() < deadline, "the holder never took its slot"
            time.sleep(0.05)
    finally:
        holder.kill()
        holder.join()

    async def take() -> int:
        slots = AdvisoryLockSlots(postgres_url, 1, poll_interval=0.05)
        try:
            return await asyncio.wait_for(slots.acquire(), timeout=10)
        finally:
            slots.close()

    assert asyncio.run(take()) == 0


def advisory_locks_held(url: str, size: int) -> int:
    """Slot locks granted on the server for a cap of ``size``, counted from pg_locks."""
    space = lock_space(f"slots:in_flight:{size}") & 0xFFFFFFFF
    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s::oid AND objsubid = 2",
            (space,),
        )
        (count,) = cursor.fetchone()
    return int(count)


def test_each_grant_locks_exactly_one_slot(postgres_url: str) -> None:
    """Taking three of 200 slots holds three locks on the server; releasing frees them."""

    async def scenario() -> tuple[list[int], int, int]:
        slots = AdvisoryLockSlots(postgres_url, 200)
        try:
            taken = [await slots.acquire() for _ in range(3)]
            held = await asyncio.to_thread(advisory_locks_held, postgres_url, 200)
            for index in taken:
                await slots.release(index)
            after = await asyncio.to_thread(advisory_locks_held, postgres_url, 200)
            return taken, held, after
        finally:
            slots.close()

    taken, held, after = asyncio.run(scenario())
    assert len(set(taken)) == 3
    assert (held, after) == (3, 0)


def test_hundreds_of_slots_fill_and_then_wait(postgres_url: str) -> None:
    """A cap of 150 grants 150 distinct slots to one process; the 151st request waits."""

    async def scenario() -> tuple[int, bool]:
        slots = AdvisoryLockSlots(postgres_url, 150, poll_interval=0.05)
        try:
            taken = {await slots.acquire() for _ in range(150)}
            try:
                await asyncio.wait_for(slots.acquire(), timeout=0.5)
            except TimeoutError:
                waited = True
            else:
                waited = False
            return len(taken), waited
        finally:
            slots.close()

    assert asyncio.run(scenario()) == (150, True)


def test_cancelled_waiter_leaves_the_slot_free(postgres_url: str) -> None:
    """A request cancelled while queued takes nothing: after the release, another gets slot 0."""

    async def scenario() -> int:
        first = AdvisoryLockSlots(postgres_url, 1, poll_interval=0.05)
        second = AdvisoryLockSlots(postgres_url, 1, poll_interval=0.05)
        try:
            index = await first.acquire()
            waiter = asyncio.create_task(first.acquire())
            await asyncio.sleep(0.2)
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
            await first.release(index)
            return await asyncio.wait_for(second.acquire(), timeout=5)
        finally:
            first.close()
            second.close()

    assert asyncio.run(scenario()) == 0


def test_closing_frees_what_was_held(postgres_url: str) -> None:
    """Closing the slots ends their sessions, so the server frees their locks."""

    async def scenario() -> None:
        slots = AdvisoryLockSlots(postgres_url, 4)
        await slots.acquire()
        await slots.acquire()
        slots.close()

    asyncio.run(scenario())
    assert advisory_locks_held(postgres_url, 4) == 0


@pytest.mark.parametrize("size", [0, -1])
def test_size_must_be_positive(postgres_url: str, size: int) -> None:
    """A cap below one is refused."""
    with pytest.raises(ValueError):
        AdvisoryLockSlots(postgres_url, size)
