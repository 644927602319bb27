"""The exceptions the Ittybit client raises, in one place.

Every error is an ``IttybitError``. The first split is the one callers act on: a
``RetryableError`` may succeed if the same request is sent again later; a ``PermanentError``
will not, and retrying it only spends quota.

```
IttybitError
├── RetryableError                 safe to send again (the client already did, up to its budget)
│   ├── TransportError             connection refused/reset, DNS, TLS, protocol errors
│   ├── RequestTimeout             no response within the configured timeout
│   ├── RateLimited                429; ``retry_after`` holds the server's Retry-After in seconds
│   ├── ServerError                5xx
│   └── TransientError             a 4xx whose ``kind`` says it is passing (request_timeout, ...)
├── PermanentError                 sending it again will not help
│   ├── ClientError                a 4xx of any other kind; carries ``kind`` and ``message``
│   │   ├── AuthenticationError    401
│   │   ├── NotFoundError          404 (job_not_found, task_not_found, ...)
│   │   └── IdempotencyConflict    the Idempotency-Key was used with a different body
│   ├── JobFailed                  the job ended ``failed`` or ``cancelled``; carries the job
│   ├── TaskFailed                 a standalone task (e.g. a probe) ended ``failed``
│   └── UnsupportedOperation       the service does not offer this (e.g. cancel on the cloud API)
└── DeadlineExceeded               a wait ran past its deadline; the job may still finish remotely
```

``DeadlineExceeded`` is neither retryable nor permanent: the remote job is still alive, and the
caller decides whether to wait longer, cancel it, or re-attach later with the same Idempotency-Key.

No exception ever carries the API key: messages are built from the response body and the request
method and path only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media_assets.ittybit.models import Job


class IttybitError(Exception):
    """Base of every error the client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(IttybitError):
    """The request may succeed if sent again later."""


class TransportError(RetryableError):
    """The request did not reach the service or the response did not come back."""


class RequestTimeout(RetryableError):
    """The service did not answer within the configured timeout."""


class HTTPStatusError(IttybitError):
    """Mixin data for errors that come from an HTTP response."""

    def __init__(self, message: str, *, status_code: int, kind: str, request: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.kind = kind
        self.request = request  # "METHOD /path", never headers

    def __str__(self) -> str:
        return f"{self.request} -> {self.status_code} {self.kind}: {self.message}"


class ServerError(HTTPStatusError, RetryableError):
    """5xx: the service had a problem it may not have next time."""


class TransientError(HTTPStatusError, RetryableError):
    """A 4xx whose ``kind`` says the same request may succeed shortly (see ``http``)."""


class RateLimited(HTTPStatusError, RetryableError):
    """429: too many requests; wait ``retry_after`` seconds before the next one."""

    def __init__(
        self, message: str, *, status_code: int, kind: str, request: str, retry_after: float | None
    ) -> None:
        super().__init__(message, status_code=status_code, kind=kind, request=request)
        self.retry_after = retry_after


class PermanentError(IttybitError):
    """Sending the same request again will not help."""


class ClientError(HTTPStatusError, PermanentError):
    """A 4xx whose kind is not a passing one: the request itself is wrong."""


class AuthenticationError(ClientError):
    """401: the API key is missing or invalid."""


class NotFoundError(ClientError):
    """404: the job (or task) does not exist."""


class IdempotencyConflict(ClientError):
    """The Idempotency-Key was already used with a different request body."""


class JobFailed(PermanentError):
    """The job reached ``failed`` or ``cancelled``; ``job.error`` says why."""

    def __init__(self, job: Job) -> None:
        reason = job.error.message if job.error else f"job {job.status}"
        kind = job.error.kind if job.error else str(job.status)
        super().__init__(f"job {job.id} {job.status}: {reason}")
        self.job = job
        self.kind = kind
        self.reason = reason
        self.requests: int | None = None  # requests spent on the job, when known


class TaskFailed(PermanentError):
    """A standalone task (such as a probe) ended ``failed``; ``kind`` and ``reason`` say why."""

    def __init__(self, task_id: str, *, kind: str, reason: str) -> None:
        super().__init__(f"task {task_id} failed: {reason}")
        self.task_id = task_id
        self.kind = kind
        self.reason = reason


class UnsupportedOperation(PermanentError):
    """The service does not offer this operation."""


class DeadlineExceeded(IttybitError):
    """Waiting for a job ran past its deadline. The job may still be running remotely."""

    def __init__(self, message: str, *, job: Job | None = None) -> None:
        super().__init__(message)
        self.job = job
