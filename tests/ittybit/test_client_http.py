"""Pure helpers of ``media_assets.ittybit.http``: Retry-After, Link, error mapping."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from media_assets.ittybit import (
    AuthenticationError,
    ClientError,
    IdempotencyConflict,
    NotFoundError,
    PermanentError,
    RateLimited,
    RetryableError,
    ServerError,
    TransientError,
)
from media_assets.ittybit.http import (
    error_for_response,
    parse_next_link,
    retry_after_seconds,
)


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_retry_after_in_seconds() -> None:
    """An integer Retry-After is that many seconds."""
    assert retry_after_seconds(_response({"Retry-After": "7"})) == 7.0


def test_retry_after_as_http_date() -> None:
    """An HTTP-date Retry-After is the time from now until that date."""
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after_seconds(_response({"Retry-After": when}))
    assert seconds is not None
    assert 28.0 <= seconds <= 30.5


def test_retry_after_date_in_the_past_is_zero() -> None:
    """A date already gone means retry now, never a negative wait."""
    when = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after_seconds(_response({"Retry-After": when})) == 0.0


def test_retry_after_ms_header_wins() -> None:
    """``retry-after-ms`` is read in milliseconds and preferred when present."""
    response = _response({"Retry-After": "9", "retry-after-ms": "1500"})
    assert retry_after_seconds(response) == 1.5


@pytest.mark.parametrize("value", [None, "soon", ""])
def test_retry_after_missing_or_unreadable_is_none(value: str | None) -> None:
    """No usable Retry-After gives None, so normal backoff applies."""
    headers = {} if value is None else {"Retry-After": value}
    assert retry_after_seconds(_response(headers)) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<http://h/jobs?after=job_9&limit=10>; rel="next"', "http://h/jobs?after=job_9&limit=10"),
        ("<http://h/jobs?after=a>; rel=next", "http://h/jobs?after=a"),
        (
            '<http://h/p?before=x>; rel="prev", <http://h/n?after=y>; rel="next"',
            "http://h/n?after=y",
        ),
        ('<http://h/p?before=x>; rel="prev"', None),
        ("", None),
        (None, None),
    ],
)
def test_parse_next_link(header: str | None, expected: str | None) -> None:
    """Only the ``rel="next"`` target of a Link header is followed."""
    assert parse_next_link(header) == expected


@pytest.mark.parametrize(
    ("status", "kind", "error_class"),
    [
        (400, "invalid_input", ClientError),
        (401, "token_invalid", AuthenticationError),
        (404, "job_not_found", NotFoundError),
        (422, "idempotency_key_reused", IdempotencyConflict),
        (408, "request_timeout", TransientError),
        (409, "idempotency_key_in_use", TransientError),
        (409, "idempotency_key_reused", IdempotencyConflict),
        (409, "conflict", ClientError),
        (500, "internal_error", ServerError),
        (503, "internal_error", ServerError),
        (429, "rate_limited", RateLimited),
    ],
)
def test_error_for_response_maps_status_to_class(
    status: int, kind: str, error_class: type[Exception]
) -> None:
    """Each documented status becomes its class, carrying Ittybit's kind and message."""
    response = httpx.Response(status, json={"kind": kind, "message": "what went wrong"})
    error = error_for_response("POST /jobs", response)
    assert type(error) is error_class
    assert (error.status_code, error.kind, error.message) == (status, kind, "what went wrong")
    assert str(error) == f"POST /jobs -> {status} {kind}: what went wrong"


@pytest.mark.parametrize("status", [400, 403, 405, 408, 409, 410, 413, 415, 422])
def test_4xx_of_other_kinds_are_permanent(status: int) -> None:
    """A 4xx other than 429 whose kind is not a passing one is permanent, whatever its status."""
    error = error_for_response("GET /jobs", httpx.Response(status, json={"kind": "x"}))
    assert isinstance(error, PermanentError)
    assert not isinstance(error, RetryableError)


def test_rate_limited_carries_retry_after() -> None:
    """A 429 exposes the server's Retry-After in seconds."""
    response = httpx.Response(429, headers={"Retry-After": "3"}, json={"kind": "rate_limited"})
    error = error_for_response("GET /jobs/{id}", response)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3.0


def test_a_bodiless_408_is_transient() -> None:
    """A 408 without Ittybit's error body (a proxy giving up) has only its status: passing."""
    error = error_for_response("POST /jobs", httpx.Response(408, text="Request Timeout"))
    assert isinstance(error, TransientError)


def test_non_json_error_body_keeps_the_text() -> None:
    """A proxy's HTML or text error still yields a kind and a readable message."""
    error = error_for_response("GET /jobs", httpx.Response(502, text="Bad gateway from proxy"))
    assert isinstance(error, ServerError)
    assert (error.kind, error.message) == ("http_502", "Bad gateway from proxy")
