"""Auth, the simulated rate limit and injected server errors."""

from __future__ import annotations

import time

import httpx
from local_service_helpers import StartService

BODY = {"input": "https://m.example/a.mp4", "kind": "video"}


def test_missing_key_is_401_token_missing(start_service: StartService) -> None:
    """With an API key configured, a request without Authorization is 401 token_missing."""
    service = start_service(api_key="secret-key")
    response = httpx.post(f"{service.base_url}/jobs", json=BODY)
    assert response.status_code == 401
    assert response.json()["kind"] == "token_missing"


def test_wrong_key_is_401_token_invalid(start_service: StartService) -> None:
    """A wrong bearer key is 401 token_invalid; the right one works."""
    service = start_service(api_key="secret-key")
    wrong = httpx.get(f"{service.base_url}/jobs", headers={"Authorization": "Bearer nope"})
    right = httpx.get(f"{service.base_url}/jobs", headers={"Authorization": "Bearer secret-key"})
    assert wrong.status_code == 401 and wrong.json()["kind"] == "token_invalid"
    assert right.status_code == 200


def test_health_needs_no_key(start_service: StartService) -> None:
    """/_local/health answers without a key even when one is configured."""
    service = start_service(api_key="secret-key")
    assert httpx.get(f"{service.base_url}/_local/health").status_code == 200


def test_rate_limit_answers_429_with_retry_after(start_service: StartService) -> None:
    """Above --rate-limit, requests get 429 rate_limited with an integer Retry-After."""
    service = start_service(rate_limit=5.0)
    with httpx.Client(base_url=service.base_url) as http:
        responses = [http.get("/jobs") for _ in range(12)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert limited[0].json()["kind"] == "rate_limited"
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_rate_limit_allows_a_burst_of_one_seconds_worth(start_service: StartService) -> None:
    """At --rate-limit 2 two requests pass at once and the third is refused."""
    service = start_service(rate_limit=2.0)
    with httpx.Client(base_url=service.base_url) as http:
        codes = [http.get("/jobs").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_rate_limit_refuses_at_once_instead_of_queueing(start_service: StartService) -> None:
    """A request over the rate is answered 429 straight away, not held until there is room."""
    service = start_service(rate_limit=1.0)
    with httpx.Client(base_url=service.base_url) as http:
        http.get("/jobs")
        started = time.monotonic()
        response = http.get("/jobs")
        elapsed = time.monotonic() - started
    assert response.status_code == 429
    assert elapsed < 0.5


def test_retry_after_covers_a_slow_rate(start_service: StartService) -> None:
    """Below one request per second, Retry-After is long enough for the rate to allow one."""
    service = start_service(rate_limit=0.25)
    with httpx.Client(base_url=service.base_url) as http:
        http.get("/jobs")
        response = http.get("/jobs")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"


def test_error_rate_injects_5xx_internal_errors(start_service: StartService) -> None:
    """With --error-rate 0.5 some API requests fail 500/503 internal_error, the rest succeed."""
    service = start_service(error_rate=0.5)
    with httpx.Client(base_url=service.base_url) as http:
        responses = [http.get("/jobs") for _ in range(40)]
    codes = {r.status_code for r in responses}
    failed = [r for r in responses if r.status_code >= 500]
    assert 200 in codes and failed
    assert codes <= {200, 500, 503}
    assert all(r.json()["kind"] == "internal_error" for r in failed)
