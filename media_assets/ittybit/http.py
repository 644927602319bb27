"""HTTP details of the client: turning responses into errors and reading headers."""

from __future__ import annotations

import email.utils
import re
import time

import httpx

from media_assets.ittybit.errors import (
    AuthenticationError,
    ClientError,
    HTTPStatusError,
    IdempotencyConflict,
    NotFoundError,
    RateLimited,
    RequestTimeout,
    RetryableError,
    ServerError,
    TransientError,
    TransportError,
)

# 4xx kinds that say the same request may succeed a moment later. Ittybit documents none of its
# 4xx kinds as such (invalid_input, token_missing, token_invalid, job_not_found, payment_required,
# ...): it signals passing trouble with 429 and 5xx. These are the words APIs and proxies use for
# a request that timed out on the server's side or collided with the same request still in flight.
TRANSIENT_KINDS = frozenset(
    {
        "request_timeout",
        "timeout",
        "idempotency_key_in_use",
        "request_in_progress",
        "concurrent_request",
    }
)


def transport_error(request: str, error: httpx.HTTPError) -> RetryableError:
    name = type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return RequestTimeout(f"{request}: timed out ({name})")
    return TransportError(f"{request}: {name}: {error}")


def error_for_response(request: str, response: httpx.Response) -> HTTPStatusError:
    """The exception for a 4xx/5xx response, carrying Ittybit's ``kind`` and ``message``.

    A 429 and a 5xx are retryable whatever their kind. Any other 4xx is decided by its kind, not
    its status: a 409 about an Idempotency-Key reused with another body is permanent, one about
    the same request still in flight is not. A 4xx without Ittybit's error body (a proxy's page)
    has only its status to go by, and of those only 408 (the server gave up waiting) is passing.
    """
    status = response.status_code
    kind, message = _error_body(response)
    if status == 429:
        return RateLimited(
            message,
            status_code=status,
            kind=kind,
            request=request,
            retry_after=retry_after_seconds(response),
        )
    cls: type[HTTPStatusError] = ClientError
    if status >= 500:
        cls = ServerError
    elif kind in TRANSIENT_KINDS or (status == 408 and kind == _bodiless_kind(status)):
        cls = TransientError
    elif status == 401:
        cls = AuthenticationError
    elif status == 404:
        cls = NotFoundError
    elif "idempotency" in kind:
        cls = IdempotencyConflict
    return cls(message, status_code=status, kind=kind, request=request)


def _bodiless_kind(status: int) -> str:
    """The kind given to an error response that carries none of its own."""
    return f"http_{status}"


def _error_body(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            kind = error.get("kind") or error.get("code") or _bodiless_kind(response.status_code)
            kind = str(kind)
            return kind, str(error.get("message") or response.reason_phrase)
        if isinstance(error, str):
            return _bodiless_kind(response.status_code), error
    text = response.text.strip()[:200]
    return _bodiless_kind(response.status_code), text or response.reason_phrase


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or ``retry-after-ms``."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def parse_next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    if not header:
        return None
    match = _LINK_NEXT.search(header)
    return match.group(1) if match else None
