"""Declared, bounded, observable retries for the client's requests, run by stamina.

Every retry is bounded by attempts *and* total time, waits an exponential backoff with jitter, or
the server's ``Retry-After`` when it sent one, and is reported: logged at WARNING on the
``media_assets.ittybit`` logger and passed to the client's ``on_retry`` hook as a ``RetryEvent``
(the pipeline turns those into run-log lines and materialization metadata). stamina's own
instrumentation (its ``stamina`` logger, or Prometheus and structlog when installed) sees them too.

stamina runs the loop, counts the attempts and sleeps. What it is told comes from one backoff hook
(``on=``) per call, which decides whether an error is retried and how long to wait first. The hook
is ours, not stamina's exponential backoff, for three reasons:

- the wait must be known before it is slept, so that a retry that would end past the time budget
  is not made (stamina's ``timeout`` only looks at the time already spent) and so that the event
  and the log line can say how long it is;
- each client has its own ``on_retry`` hook, and stamina's instrumentation hooks are global to the
  process;
- in testing mode stamina drops the time budget, and a test of the retry path should make exactly
  the attempts production would.

Tests switch retries off globally with ``set_active(False)`` (one attempt, errors surface at once)
or keep them but skip the sleeping with ``set_testing(True)``. Both are stamina's switches, so they
also apply to any other stamina user in the process.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

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

set_active = stamina.set_active
is_active = stamina.is_active


def set_testing(testing: bool) -> None:
    """Keep retrying but do not sleep between attempts (for fast tests of retry paths).

    The skipped waits still count against ``RetryPolicy.timeout``, so a test sees the same
    number of attempts as production would.
    """
    # stamina's testing mode otherwise fixes every loop at one attempt; capping at a count no
    # policy reaches leaves each policy its own.
    stamina.set_testing(testing, attempts=sys.maxsize, cap=True)


def compute_wait(
    policy: RetryPolicy, retry_number: int, error: RetryableError
) -> tuple[float, bool]:
    """The wait before ``retry_number`` and whether it was dictated by Retry-After."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        wait = min(policy.retry_after_max, max(0.0, error.retry_after))
        if policy.retry_after_jitter:
            wait += random.uniform(0, policy.retry_after_jitter)
        return wait, True
    return policy.backoff(retry_number) + random.uniform(0, policy.wait_jitter), False


async def call_with_retries(
    request: str,
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    on_retry: RetryHook | None = None,
) -> T:
    """Await ``send()``; on a ``RetryableError`` wait and send again within the policy's bounds."""
    started = time.monotonic()
    skipped = 0.0  # waits not slept in testing mode still count against the time budget
    attempt_number = 0

    def retry_wait(error: Exception) -> bool | float:
        """stamina's backoff hook: ``False`` to give up, else the seconds to wait first."""
        nonlocal skipped
        if not isinstance(error, RetryableError):
            return False
        # stamina would stop here too; asking first keeps a retry that never happens unannounced.
        if policy.attempts is not None and attempt_number >= policy.attempts:
            return False
        wait, from_server = compute_wait(policy, attempt_number, error)
        # A wait that would end past the budget, Retry-After included, is not waited out at all.
        if time.monotonic() - started + skipped + wait > policy.timeout:
            return False
        if stamina.is_testing():
            skipped += wait
        _announce(
            RetryEvent(
                request=request,
                retry_number=attempt_number,
                wait=wait,
                error=str(error),
                retry_after=from_server,
            ),
            policy,
            on_retry,
        )
        return wait

    # The hook bounds the total time and always names the wait, so stamina's timeout and its
    # backoff settings are unused.
    async for attempt in stamina.retry_context(
        on=retry_wait, attempts=policy.attempts, timeout=None
    ):
        attempt_number = attempt.num
        with attempt:
            return await send()
    raise AssertionError("stamina ended the retries without raising")


def _announce(event: RetryEvent, policy: RetryPolicy, on_retry: RetryHook | None) -> None:
    of = f"/{policy.attempts - 1}" if policy.attempts is not None else ""
    logger.warning(
        "retrying %s (retry %d%s) in %.2fs%s: %s",
        event.request,
        event.retry_number,
        of,
        event.wait,
        " as Retry-After asked" if event.retry_after else "",
        event.error,
    )
    if on_retry is not None:
        on_retry(event)
