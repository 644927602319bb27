"""An asyncio token bucket: at most ``requests_per_second`` on average, ``burst`` at once."""

from __future__ import annotations

import asyncio
import time

from media_assets.ittybit.config import RateLimit


class AsyncRateLimiter:
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
