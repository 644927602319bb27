"""The client's request rate limiter: aiolimiter's leaky bucket, sized from a ``RateLimit``."""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from media_assets.ittybit.config import RateLimit


def rate_limiter(limit: RateLimit) -> AsyncLimiter:
    """A bucket of ``burst`` requests that drains at ``requests_per_second``.

    aiolimiter counts ``max_rate`` acquisitions per ``time_period``; a bucket that holds ``burst``
    and empties at the configured rate is that with ``time_period = burst / rate``.
    """
    return AsyncLimiter(limit.effective_burst, limit.effective_burst / limit.requests_per_second)
