"""Small, explicit configuration objects for the Ittybit client.

Each is a frozen dataclass with keyword-only fields, so a call site reads as a statement of
policy::

    IttybitClient(
        retry=RetryPolicy(attempts=8, timeout=120.0),
        poll=PollPolicy(max_interval=10.0),
        rate_limit=RateLimit(requests_per_second=20),
    )
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://api.ittybit.com"


@dataclass(frozen=True, kw_only=True)
class Timeout:
    """Per-request timeouts in seconds (connect, read, write, wait for a pooled connection)."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 60.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How retryable errors are retried: bounded by ``attempts`` and ``timeout`` seconds in all.

    The wait before retry *n* (1-based) is ``min(wait_max, wait_initial * wait_exp_base**(n-1))``
    plus up to ``wait_jitter`` seconds of random jitter. A 429's ``Retry-After`` replaces that
    wait (capped by ``retry_after_max``), because the server knows when it will accept the
    request again.

    ``attempts=None`` retries for as long as ``timeout`` allows, for a caller that would rather
    bound a transient outage by time than by a count. ``retry_after_jitter`` adds up to that many
    seconds to a Retry-After, so that many clients told the same moment do not all come back in
    the same instant; it is off by default, which obeys the server exactly.
    """

    attempts: int | None = 6
    timeout: float = 120.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    wait_exp_base: float = 2.0
    retry_after_max: float = 300.0
    retry_after_jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be >= 1 (or None: bounded by timeout)")
        if self.timeout <= 0:
            raise ValueError("RetryPolicy.timeout must be > 0")
        if self.wait_jitter < 0 or self.retry_after_jitter < 0:
            raise ValueError("RetryPolicy jitter must be >= 0")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt, no retries: errors surface at once (useful in tests)."""
        return cls(attempts=1)

    def backoff(self, retry_number: int) -> float:
        """Wait before retry ``retry_number`` (1-based), without jitter."""
        return min(self.wait_max, self.wait_initial * self.wait_exp_base ** (retry_number - 1))


@dataclass(frozen=True, kw_only=True)
class PollPolicy:
    """How ``wait_for_job`` looks at a job.

    It starts fast (``initial`` seconds after creation), backs off by ``multiplier`` up to
    ``max_interval`` while it knows nothing, and once the job reports ``progress`` it schedules
    the next look for the predicted finish, so a finished job is noticed promptly without polling
    every few hundred milliseconds. Against a server that offers to hold the request until the
    job ends (``use_server_wait``), it asks it to instead of polling.
    """

    initial: float = 0.5
    multiplier: float = 1.6
    min_interval: float = 0.1
    max_interval: float = 5.0
    use_progress: bool = True
    # Look slightly after the predicted finish: a look just before it costs a whole extra request.
    finish_margin: float = 0.02
    # An early estimate (a few percent done) is coarse; when the finish is further off than
    # ``refine_above`` seconds, look once at ``refine_ratio`` of the way there to sharpen it.
    refine_above: float = 1.0
    refine_ratio: float = 0.85
    # A server that offers held looks (a local-service extension, see ``extensions``; the hosted
    # API does not) answers a look only once the job ends: one request notices the end at once.
    use_server_wait: bool = True


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """A requests-per-second ceiling, shared by every request of one client.

    Separate from any cap on jobs in flight: this bounds how often we call the API, the other
    how much remote work runs at once.
    """

    requests_per_second: float
    burst: int | None = None  # requests allowed at once; default one second's worth

    def __post_init__(self) -> None:
        if self.requests_per_second <= 0:
            raise ValueError("RateLimit.requests_per_second must be > 0")
        if self.burst is not None and self.burst < 1:
            raise ValueError("RateLimit.burst must be >= 1")

    @property
    def effective_burst(self) -> int:
        return self.burst if self.burst is not None else max(1, round(self.requests_per_second))
