"""Request rate limiting: the interface the client calls, and an in-process token bucket.

The client awaits ``acquire()`` of its limiter before every request. ``AsyncRateLimiter`` bounds
one client (at most ``requests_per_second`` on average, ``burst`` at once); anything else with an
``acquire()`` coroutine can stand in for it, e.g. a limiter shared by many processes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from media_assets.ittybit.config import RateLimit


class RequestLimiter(Protocol):
    """Something to wait on before each request."""

    async def acquire(self) -> object:
        """Return once one more request may be sent."""
        ...


class AsyncRateLimiter:
    """An asyncio token bucket for one client."""

    def __init__(self, limit: RateLimit) -> None:
        self._rate = limit.requests_per_second
        self._capacity = float(
            limit.burst if limit.burst is not None else max(1, round(self._rate))
        )
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Take one token, sleeping until one is available. Returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(
                    self._capacity, self._tokens + (now - self._updated) * self._rate
                )
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                delay = (1.0 - self._tokens) / self._rate
                waited += delay
                await asyncio.sleep(delay)
