"""Request rate limiting: the interface the client waits on, and aiolimiter sized from a RateLimit.

The client awaits ``acquire()`` of its limiter before every request. ``rate_limiter`` bounds one
client with aiolimiter's leaky bucket; anything else with an ``acquire()`` coroutine can stand in
for it, e.g. a limiter shared by every process of a deployment.
"""

from __future__ import annotations

from typing import Protocol

from aiolimiter import AsyncLimiter

from media_assets.ittybit.config import RateLimit


class RequestLimiter(Protocol):
    """Something to wait on before each request."""

    async def acquire(self) -> object:
        """Return once one more request may be sent."""
        ...


def rate_limiter(limit: RateLimit) -> AsyncLimiter:
    """A bucket of ``burst`` requests that drains at ``requests_per_second``.

    aiolimiter counts ``max_rate`` acquisitions per ``time_period``; a bucket that holds ``burst``
    and empties at the configured rate is that with ``time_period = burst / rate``.
    """
    return AsyncLimiter(limit.effective_burst, limit.effective_burst / limit.requests_per_second)
