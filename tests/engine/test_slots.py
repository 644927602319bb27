"""Job slots: priority order within a run, and a machine-wide bound across processes."""

import asyncio
import multiprocessing
import time
from pathlib import Path

from media_assets.engine.slots import JobSlots, LockFileSlots, PrioritySlots


def _served(
    queued: list[tuple[str, int]],
    *,
    first: int | None = None,
    queued_after: tuple[tuple[str, int], ...] = (),
) -> list[str]:
    """The order a one-slot ``PrioritySlots`` serves ``queued`` (name, priority) waiters in.

    With ``first``, ``serve_first(first)`` is called once they wait, then ``queued_after`` queue.
    """

    async def scenario() -> list[str]:
        slots = PrioritySlots(1)
        order: list[str] = []
        await slots.acquire()

        async def wait(name: str, priority: int) -> None:
            async with slots.hold(priority):
                order.append(name)

        waiters = [asyncio.create_task(wait(name, priority)) for name, priority in queued]
        await asyncio.sleep(0.01)
        if first is not None:
            slots.serve_first(first)
        waiters += [asyncio.create_task(wait(name, priority)) for name, priority in queued_after]
        await asyncio.sleep(0.01)
        slots.release()
        await asyncio.gather(*waiters)
        return order

    return asyncio.run(scenario())


def test_priority_slots_serve_lower_priority_first() -> None:
    """A freed slot goes to the waiter with the lowest priority number, FIFO within it."""
    queued = [("ingest-1", 1), ("thumbnail", 0), ("ingest-2", 1), ("audio", 0)]
    assert _served(queued) == ["thumbnail", "audio", "ingest-1", "ingest-2"]


def test_serve_first_puts_a_priority_ahead_of_waiters_already_queued() -> None:
    """After serve_first(1), queued priority-1 waiters go before priority 0, FIFO among them."""
    queued = [("ingest-1", 1), ("thumbnail", 0), ("ingest-2", 1)]
    assert _served(queued, first=1, queued_after=(("ingest-3", 1),)) == [
        "ingest-1",
        "ingest-2",
        "ingest-3",
        "thumbnail",
    ]


def test_shared_slots_are_handed_out_by_priority(tmp_path: Path) -> None:
    """More run slots than shared ones: behind the waiter already at the shared slots, priority."""

    async def scenario() -> list[str]:
        shared = LockFileSlots(tmp_path, 1, poll_interval=0.005)
        slots = JobSlots(4, shared)
        order: list[str] = []
        first_in = asyncio.Event()
        let_go = asyncio.Event()

        async def hold_first() -> None:
            async with slots.hold(0):
                first_in.set()
                await let_go.wait()

        async def wait(name: str, priority: int) -> None:
            async with slots.hold(priority):
                order.append(name)

        holder = asyncio.create_task(hold_first())
        await first_in.wait()
        waiters = []
        for name, priority in (("ingest-1", 1), ("ingest-2", 1), ("thumbnail", 0)):
            waiters.append(asyncio.create_task(wait(name, priority)))
            await asyncio.sleep(0.01)
        let_go.set()
        await asyncio.gather(holder, *waiters)
        shared.close()
        return order

    # ingest-1 came first and is already waiting on the shared slots; the rest go by priority.
    assert asyncio.run(scenario()) == ["ingest-1", "thumbnail", "ingest-2"]


def test_priority_slots_never_exceed_size() -> None:
    """However many tasks ask, no more than ``size`` hold a slot at once."""

    async def scenario() -> tuple[int, int]:
        slots = PrioritySlots(3)
        holding = most = 0  # counted here, not by the class under test

        async def job(index: int) -> None:
            nonlocal holding, most
            async with slots.hold(index % 2):
                holding += 1
                most = max(most, holding)
                await asyncio.sleep(0.005)
                holding -= 1

        await asyncio.gather(*(job(i) for i in range(50)))
        return most, slots.in_use_high_water

    assert asyncio.run(scenario()) == (3, 3)


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    """A waiter cancelled while queued leaves the slot count intact."""

    async def scenario() -> int:
        slots = PrioritySlots(1)
        await slots.acquire()
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        slots.release()
        return slots.in_use

    assert asyncio.run(scenario()) == 0


def _hold_slots(folder: str, size: int, jobs: int, log: str) -> None:
    async def run() -> None:
        slots = JobSlots(jobs, LockFileSlots(Path(folder), size, poll_interval=0.005))

        async def job() -> None:
            async with slots.hold():
                with open(log, "a") as handle:
                    handle.write(f"+ {time.monotonic()}\n")
                await asyncio.sleep(0.05)
                with open(log, "a") as handle:
                    handle.write(f"- {time.monotonic()}\n")

        await asyncio.gather(*(job() for _ in range(jobs)))

    asyncio.run(run())


def test_lock_file_slots_bound_jobs_across_processes(tmp_path: Path) -> None:
    """Three processes each wanting 4 jobs in flight share a machine-wide cap of 2."""
    log = tmp_path / "log.txt"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_hold_slots, args=(str(tmp_path / "slots"), 2, 4, str(log)))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    events = sorted(
        (float(stamp), 1 if sign == "+" else -1)
        for sign, stamp in (line.split() for line in log.read_text().splitlines())
    )
    in_flight = high_water = 0
    for _, delta in events:
        in_flight += delta
        high_water = max(high_water, in_flight)
    assert len(events) == 3 * 4 * 2
    assert high_water == 2


def test_lock_file_slot_is_released_when_its_process_dies(tmp_path: Path) -> None:
    """A process killed while holding a slot does not keep it."""
    context = multiprocessing.get_context("spawn")
    holder = context.Process(target=_hold_forever, args=(str(tmp_path),))
    holder.start()
    deadline = time.monotonic() + 30
    while not (tmp_path / "held").exists():
        assert time.monotonic() < deadline, "the holder never took its slot"
        time.sleep(0.05)
    holder.kill()
    holder.join()

    async def take() -> int:
        return await asyncio.wait_for(LockFileSlots(tmp_path, 1).acquire(), timeout=5)

    assert asyncio.run(take()) == 0


def _hold_forever(folder: str) -> None:
    async def run() -> None:
        await LockFileSlots(Path(folder), 1).acquire()
        (Path(folder) / "held").touch()
        await asyncio.sleep(3600)

    asyncio.run(run())


def test_a_slot_freed_in_this_process_wakes_its_waiter_at_once(tmp_path: Path) -> None:
    """A waiter gets a slot this process frees without waiting for its next poll."""

    async def scenario() -> int:
        slots = LockFileSlots(tmp_path, 1, poll_interval=3600)
        held = await slots.acquire()
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0.05)  # the waiter has looked, found none, and sleeps on its poll
        await slots.release(held)
        try:
            return await asyncio.wait_for(waiter, timeout=10)
        finally:
            slots.close()

    assert asyncio.run(scenario()) == 0
