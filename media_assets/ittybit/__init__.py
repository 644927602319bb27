"""An async client for Ittybit's jobs API. Knows nothing of Dagster.

See ``errors`` for the exception hierarchy and ``retry`` for how retries behave.
"""

from media_assets.ittybit.client import IttybitClient, JobResult, JobStats, RequestStats
from media_assets.ittybit.config import (
    DEFAULT_BASE_URL,
    PollPolicy,
    RateLimit,
    RetryPolicy,
    Timeout,
)
from media_assets.ittybit.errors import (
    AuthenticationError,
    ClientError,
    DeadlineExceeded,
    HTTPStatusError,
    IdempotencyConflict,
    IttybitError,
    JobFailed,
    NotFoundError,
    PermanentError,
    RateLimited,
    RequestTimeout,
    RetryableError,
    ServerError,
    TaskFailed,
    TransientError,
    TransportError,
    UnsupportedOperation,
)
from media_assets.ittybit.keys import idempotency_key
from media_assets.ittybit.models import ErrorBody, File, Job, JobKind, JobStatus, Task
from media_assets.ittybit.ratelimit import RequestLimiter
from media_assets.ittybit.retry import RetryEvent, RetryHook

__all__ = [
    "DEFAULT_BASE_URL",
    "AuthenticationError",
    "ClientError",
    "DeadlineExceeded",
    "ErrorBody",
    "File",
    "HTTPStatusError",
    "IdempotencyConflict",
    "IttybitClient",
    "IttybitError",
    "Job",
    "JobFailed",
    "JobKind",
    "JobResult",
    "JobStats",
    "JobStatus",
    "NotFoundError",
    "PermanentError",
    "PollPolicy",
    "RateLimit",
    "RateLimited",
    "RequestLimiter",
    "RequestStats",
    "RequestTimeout",
    "RetryEvent",
    "RetryHook",
    "RetryPolicy",
    "RetryableError",
    "ServerError",
    "Task",
    "TaskFailed",
    "Timeout",
    "TransientError",
    "TransportError",
    "UnsupportedOperation",
    "idempotency_key",
]
