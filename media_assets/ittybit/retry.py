"""Declared, bounded, observable retries for the client's requests.

Every retry is bounded by attempts *and* total time, waits an exponential backoff with jitter, or
exactly the server's ``Retry-After`` when it sent one, and is reported: logged at WARNING on the
``media_assets.ittybit`` logger and passed to the client's ``on_retry`` hook as a ``RetryEvent``
(the pipeline turns those into run-log lines and materialization metadata).

Tests switch retries off globally with ``set_active(False)`` (one attempt, errors surface at once)
or keep them but skip the sleeping with ``set_testing(True)``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from media_assets.ittybit.config import RetryPolicy
from media_assets.ittybit.errors import RateLimited, RetryableError

logger = logging.getLogger("media_assets.ittybit")

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RetryEvent:
    """One retry about to happen."""

    request: str  # "METHOD /path"
    retry_number: int  # 1 for the first retry
    wait: float  # seconds we sleep before it
    error: str  # what went wrong, without secrets
    retry_after: bool  # the wait came from the server's Retry-After


RetryHook = Callable[[RetryEvent], None]


@dataclass
class _Switches:
    active: bool = True
    testing: bool = False


_switches = _Switches()


def set_active(active: bool) -> None:
    """Turn retries on or off for every client in this process."""
    _switches.active = active


def set_testing(testing: bool) -> None:
    """Keep retrying but do not sleep between attempts (for fast tests of retry paths).

    The skipped waits still count against ``RetryPolicy.timeout``, so a test sees the same
    number of attempts as production would.
    """
    _switches.testing = testing


def is_active() -> bool:
    return _switches.active


def compute_wait(
    policy: RetryPolicy, retry_number: int, error: RetryableError
) -> tuple[float, bool]:
    """The wait before ``retry_number`` and whether it was dictated by Retry-After."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(policy.retry_after_max, max(0.0, error.retry_after)), True
    return policy.backoff(retry_number) + random.uniform(0, policy.wait_jitter), False


async def call_with_retries(
    request: str,
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    on_retry: RetryHook | None = None,
) -> T:
    """Await ``send()``; on a ``RetryableError`` wait and send again within the policy's bounds."""
    attempts = policy.attempts if _switches.active else 1
    started = time.monotonic()
    skipped = 0.0  # waits not slept in testing mode still count against the time budget
    retry_number = 0
    while True:
        try:
            return await send()
        except RetryableError as error:
            retry_number += 1
            if retry_number >= attempts:
                raise
            wait, from_server = compute_wait(policy, retry_number, error)
            # A Retry-After longer than the remaining budget is obeyed only if the budget allows.
            if time.monotonic() - started + skipped + wait > policy.timeout:
                raise
            event = RetryEvent(
                request=request,
                retry_number=retry_number,
                wait=wait,
                error=str(error),
                retry_after=from_server,
            )
            logger.warning(
                "retrying %s (retry %d/%d) in %.2fs%s: %s",
                request,
                retry_number,
                attempts - 1,
                wait,
                " as Retry-After asked" if from_server else "",
                event.error,
            )
            if on_retry is not None:
                on_retry(event)
            if _switches.testing:
                skipped += wait
            else:
                await asyncio.sleep(wait)
