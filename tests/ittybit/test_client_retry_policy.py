"""``RetryPolicy`` bounds and the retry loop, without a network (``set_testing`` skips sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from media_assets.ittybit import (
    ClientError,
    RateLimited,
    RetryEvent,
    RetryPolicy,
    ServerError,
    TransportError,
)
from media_assets.ittybit import retry as retry_module
from media_assets.ittybit.retry import call_with_retries, compute_wait

pytestmark = pytest.mark.anyio


def _server_error() -> ServerError:
    return ServerError("boom", status_code=503, kind="internal_error", request="GET /jobs")


def _rate_limited(retry_after: float | None) -> RateLimited:
    return RateLimited(
        "slow down",
        status_code=429,
        kind="rate_limited",
        request="GET /jobs",
        retry_after=retry_after,
    )


class Flaky:
    """Fails with the given errors in order, then answers ``"ok"``; counts the calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _always(make_error: Callable[[], Exception]) -> Flaky:
    return Flaky(*(make_error() for _ in range(100)))


async def test_attempts_bound_the_number_of_calls() -> None:
    """A request that keeps failing is sent exactly ``attempts`` times, then the error surfaces."""
    retry_module.set_testing(True)
    send = _always(_server_error)
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", send, policy=RetryPolicy(attempts=4))
    assert send.calls == 4


async def test_a_transient_failure_is_retried_until_success() -> None:
    """Two failures then a success return the success after three calls."""
    retry_module.set_testing(True)
    send = Flaky(_server_error(), TransportError("GET /jobs: ConnectError"))
    events: list[RetryEvent] = []
    result = await call_with_retries(
        "GET /jobs", send, policy=RetryPolicy(attempts=5), on_retry=events.append
    )
    assert (result, send.calls) == ("ok", 3)
    assert [event.retry_number for event in events] == [1, 2]


async def test_no_event_for_a_retry_the_attempts_do_not_allow() -> None:
    """When attempts run out no event is reported for a retry that will not happen."""
    retry_module.set_testing(True)
    events: list[RetryEvent] = []
    with pytest.raises(ServerError):
        await call_with_retries(
            "GET /jobs",
            _always(_server_error),
            policy=RetryPolicy(attempts=3),
            on_retry=events.append,
        )
    assert [event.retry_number for event in events] == [1, 2]


async def test_without_an_attempt_count_the_time_budget_bounds_retries() -> None:
    """``attempts=None`` keeps retrying past the default count until ``timeout`` is spent."""
    retry_module.set_testing(True)
    send = _always(_server_error)
    policy = RetryPolicy(
        attempts=None, timeout=2.0, wait_initial=0.125, wait_exp_base=1.0, wait_jitter=0
    )
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", send, policy=policy)
    # Waits of 0.125 s fit fifteen times into 2.0 s once any real time has passed: 1 + 15 calls.
    assert send.calls == 16


async def test_total_timeout_stops_retries_before_attempts_run_out() -> None:
    """A retry whose wait would overrun ``timeout`` is not made, whatever attempts remain."""
    retry_module.set_testing(True)
    send = _always(_server_error)
    policy = RetryPolicy(
        attempts=50, timeout=1.0, wait_initial=0.3, wait_exp_base=1.0, wait_jitter=0
    )
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", send, policy=policy)
    # Waits of 0.3 s fit three times into 1.0 s: 1 call + 3 retries.
    assert send.calls == 4


async def test_total_timeout_counts_real_elapsed_time() -> None:
    """Slow attempts use up the time budget too."""
    calls: list[float] = []

    async def slow_failure() -> str:
        calls.append(time.monotonic())
        time.sleep(0.15)
        raise _server_error()

    retry_module.set_testing(True)
    policy = RetryPolicy(attempts=50, timeout=0.5, wait_initial=0.01, wait_jitter=0)
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", slow_failure, policy=policy)
    assert 3 <= len(calls) <= 4


async def test_retry_after_beyond_the_budget_is_not_waited_for() -> None:
    """A 429 asking for longer than the remaining budget surfaces at once."""
    retry_module.set_testing(True)
    send = Flaky(_rate_limited(60.0))
    with pytest.raises(RateLimited):
        await call_with_retries("GET /jobs", send, policy=RetryPolicy(attempts=5, timeout=10.0))
    assert send.calls == 1


async def test_permanent_errors_are_never_retried() -> None:
    """A ClientError is raised after one call."""
    retry_module.set_testing(True)
    send = Flaky(ClientError("bad", status_code=400, kind="invalid_input", request="POST /jobs"))
    with pytest.raises(ClientError):
        await call_with_retries("POST /jobs", send, policy=RetryPolicy(attempts=5))
    assert send.calls == 1


async def test_set_active_false_means_one_attempt() -> None:
    """With retries switched off, a retryable error surfaces after a single call."""
    retry_module.set_active(False)
    send = _always(_server_error)
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", send, policy=RetryPolicy(attempts=5))
    assert send.calls == 1


async def test_set_testing_skips_the_sleep() -> None:
    """Testing mode still retries, but does not sleep the (long) backoff."""
    retry_module.set_testing(True)
    send = Flaky(_server_error(), _server_error())
    policy = RetryPolicy(attempts=3, timeout=100.0, wait_initial=10.0, wait_jitter=0)
    started = time.monotonic()
    assert await call_with_retries("GET /jobs", send, policy=policy) == "ok"
    assert time.monotonic() - started < 1.0


async def test_backoff_is_actually_slept_outside_testing_mode() -> None:
    """Outside testing mode the loop really waits its backoff between attempts."""
    send = Flaky(_server_error())
    policy = RetryPolicy(attempts=2, wait_initial=0.3, wait_jitter=0)
    started = time.monotonic()
    assert await call_with_retries("GET /jobs", send, policy=policy) == "ok"
    assert time.monotonic() - started >= 0.3


def test_backoff_is_exponential_and_capped() -> None:
    """Waits double from ``wait_initial`` and stop growing at ``wait_max``."""
    policy = RetryPolicy(wait_initial=0.5, wait_max=3.0, wait_exp_base=2.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_within_bounds() -> None:
    """The jittered wait lies between the backoff and the backoff plus ``wait_jitter``."""
    policy = RetryPolicy(wait_initial=1.0, wait_jitter=0.5)
    waits = [compute_wait(policy, 1, _server_error()) for _ in range(200)]
    assert all(1.0 <= wait <= 1.5 and not from_server for wait, from_server in waits)
    assert len({wait for wait, _ in waits}) > 1


def test_retry_after_replaces_backoff_exactly() -> None:
    """A 429's Retry-After is the wait, with no jitter, flagged as the server's."""
    policy = RetryPolicy(wait_initial=5.0, wait_jitter=1.0)
    assert compute_wait(policy, 3, _rate_limited(2.0)) == (2.0, True)


def test_retry_after_jitter_spreads_waits_after_the_servers_moment() -> None:
    """With ``retry_after_jitter`` the wait is Retry-After plus up to that many seconds."""
    policy = RetryPolicy(retry_after_jitter=0.5)
    waits = [compute_wait(policy, 1, _rate_limited(2.0)) for _ in range(200)]
    assert all(2.0 <= wait <= 2.5 and from_server for wait, from_server in waits)
    assert len({wait for wait, _ in waits}) > 1


def test_retry_after_is_capped() -> None:
    """An absurd Retry-After is capped by ``retry_after_max``."""
    policy = RetryPolicy(retry_after_max=30.0)
    assert compute_wait(policy, 1, _rate_limited(3600.0)) == (30.0, True)


@pytest.mark.parametrize(
    "settings",
    [
        {"attempts": 0},
        {"timeout": 0.0},
        {"timeout": -1.0},
        {"wait_jitter": -0.1},
        {"retry_after_jitter": -0.1},
    ],
)
def test_policy_rejects_impossible_bounds(settings: dict[str, float]) -> None:
    """Zero attempts, a non-positive time budget or negative jitter is refused at construction."""
    with pytest.raises(ValueError):
        RetryPolicy(**settings)  # type: ignore[arg-type]


async def test_disabled_policy_sends_once() -> None:
    """``RetryPolicy.disabled()`` sends once and raises the first retryable error."""
    send = _always(_server_error)
    with pytest.raises(ServerError):
        await call_with_retries("GET /jobs", send, policy=RetryPolicy.disabled())
    assert send.calls == 1
