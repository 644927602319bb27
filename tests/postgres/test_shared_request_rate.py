"""The request-rate ceiling in the database: one schedule for every process sharing an API."""

from __future__ import annotations

import asyncio
import time

import pytest

from media_assets.postgres.request_rate import PostgresRequestRate


def grant_times(limiters: list[PostgresRequestRate], each: int) -> list[float]:
    """Each limiter (a process, in effect) asks ``each`` times at once; when each was let go."""

    async def scenario() -> list[float]:
        times: list[float] = []

        async def ask(limiter: PostgresRequestRate) -> None:
            await limiter.acquire()
            times.append(time.monotonic())

        await asyncio.gather(*(ask(limiter) for limiter in limiters for _ in range(each)))
        return sorted(times)

    return asyncio.run(scenario())


def test_two_limiters_share_one_rate(postgres_url: str) -> None:
    """Two limiters on one API at 20/s let 30 requests through no faster than 20/s together."""
    limiters = [PostgresRequestRate(postgres_url, 20, name="api", burst=1) for _ in range(2)]
    times = grant_times(limiters, 15)
    assert len(times) == 30
    assert times[-1] - times[0] >= 29 / 20 * 0.95  # the server's clock, read on this machine
    for index in range(len(times) - 20):
        assert times[index + 20] - times[index] >= 0.95  # never 21 within a second


def test_burst_goes_through_at_once(postgres_url: str) -> None:
    """After a quiet spell, ``burst`` requests pass without waiting."""
    limiter = PostgresRequestRate(postgres_url, 2, name="api", burst=5)
    started = time.monotonic()
    times = grant_times([limiter], 5)
    assert times[-1] - started < 0.4


def test_other_apis_are_not_slowed(postgres_url: str) -> None:
    """A limiter of another API has a schedule of its own."""
    busy = PostgresRequestRate(postgres_url, 1, name="api-a", burst=1)
    other = PostgresRequestRate(postgres_url, 1, name="api-b", burst=1)
    assert busy.reserve() == 0.0
    assert busy.reserve() > 0.5
    assert other.reserve() == 0.0


@pytest.mark.parametrize("rate", [0, -1.0])
def test_rate_must_be_positive(postgres_url: str, rate: float) -> None:
    """A ceiling of zero or less is refused."""
    with pytest.raises(ValueError):
        PostgresRequestRate(postgres_url, rate, name="api")
