"""Errors from the real service: auth, permanent 4xx, injected 5xx, nothing listening, secrecy."""

from __future__ import annotations

import logging
import socket

import pytest
from ittybit_client_helpers import MakeClient, StartService, canned_server, service_stats

from media_assets.ittybit import (
    AuthenticationError,
    ClientError,
    IdempotencyConflict,
    IttybitError,
    JobStatus,
    PermanentError,
    RetryableError,
    RetryPolicy,
    ServerError,
    TransientError,
    TransportError,
)
from media_assets.ittybit import retry as retry_module

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"
API_KEY = "sk_test_Zq8v3LmN5pR7tW9xY1aB"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_missing_key_is_an_authentication_error_sent_once(
    start_service: StartService, make_client: MakeClient
) -> None:
    """No key against a keyed service raises AuthenticationError (token_missing), not retried."""
    service = start_service(api_key=API_KEY)
    client = make_client(service.base_url)
    with pytest.raises(AuthenticationError) as caught:
        await client.create_job(input=CLIP, kind="video")
    assert (caught.value.status_code, caught.value.kind) == (401, "token_missing")
    assert isinstance(caught.value, PermanentError)
    assert (client.stats.requests, client.stats.retries) == (1, 0)
    assert service_stats(service.base_url, API_KEY)["requests"]["POST /jobs"] == 1


async def test_wrong_key_is_an_authentication_error_sent_once(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A wrong key raises AuthenticationError (token_invalid) after exactly one request."""
    service = start_service(api_key=API_KEY)
    client = make_client(service.base_url, api_key="sk_test_wrong_key_000000")
    with pytest.raises(AuthenticationError) as caught:
        await client.get_job("job_123")
    assert caught.value.kind == "token_invalid"
    assert service_stats(service.base_url, API_KEY)["requests"]["GET /jobs/{job_id}"] == 1


async def test_right_key_is_accepted(start_service: StartService, make_client: MakeClient) -> None:
    """With the configured key the same calls succeed."""
    service = start_service(api_key=API_KEY)
    client = make_client(service.base_url, api_key=API_KEY)
    result = await client.run_job(input=CLIP, kind="video", timeout=10)
    assert result.job.status is JobStatus.SUCCEEDED


async def test_api_key_never_appears_in_repr(make_client: MakeClient) -> None:
    """``repr(client)`` says whether a key is set, never what it is."""
    client = make_client("http://127.0.0.1:9", api_key=API_KEY)
    assert API_KEY not in repr(client)
    assert "api_key=set" in repr(client)


async def test_no_attribute_of_the_client_shows_the_key(make_client: MakeClient) -> None:
    """Whatever the client keeps the key in hides it in repr and str."""
    client = make_client("http://127.0.0.1:9", api_key=API_KEY)
    shown = [text for value in vars(client).values() for text in (repr(value), str(value))]
    assert not [text for text in shown if API_KEY in text]


async def test_api_key_never_appears_in_a_401_error(
    start_service: StartService, make_client: MakeClient
) -> None:
    """The exception raised on a 401 shows neither the key sent nor the service's key."""
    service = start_service(api_key=API_KEY)
    wrong = "sk_test_Wr0ngKeyWr0ngKey42"
    client = make_client(service.base_url, api_key=wrong)
    with pytest.raises(AuthenticationError) as caught:
        await client.create_job(input=CLIP, kind="video")
    rendered = " ".join([str(caught.value), repr(caught.value), *map(str, caught.value.args)])
    rendered += " ".join(str(value) for value in vars(caught.value).values())
    assert wrong not in rendered
    assert API_KEY not in rendered


async def test_api_key_never_appears_in_logs(
    start_service: StartService, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A run with retries and failures logs nothing that contains the key, at any level."""
    caplog.set_level(logging.DEBUG)
    service = start_service(api_key=API_KEY, error_rate=0.4, seed=3)
    client = make_client(
        service.base_url,
        api_key=API_KEY,
        retry=RetryPolicy(attempts=20, wait_initial=0.01, wait_jitter=0),
    )
    await client.run_job(input=CLIP, kind="video", timeout=20)
    with pytest.raises(AuthenticationError):
        await make_client(service.base_url, api_key=API_KEY + "x").get_job("job_1")
    assert client.stats.retries >= 1  # the run really logged retries
    assert caplog.records
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("job_input", "options", "message_part"),
    [
        ("ftp://media.example/clip.mp4", {}, "scheme"),
        ("s3://bucket", {}, "object key"),
        (CLIP, {"width": -5}, "width"),
        (CLIP, {"format": "doc"}, "format"),
        (CLIP, {"quality": "ultra"}, "quality"),
    ],
)
async def test_permanent_4xx_is_a_client_error_sent_once(
    start_service: StartService,
    make_client: MakeClient,
    job_input: str,
    options: dict[str, object],
    message_part: str,
) -> None:
    """Bad input or options raise ClientError(invalid_input) with the message; one request."""
    service = start_service()
    client = make_client(service.base_url)
    with pytest.raises(ClientError) as caught:
        await client.create_job(input=job_input, kind="video", options=options)
    error = caught.value
    assert (error.status_code, error.kind) == (400, "invalid_input")
    assert message_part in error.message
    assert not isinstance(error, RetryableError)
    assert client.stats.requests == 1
    assert service_stats(service.base_url)["requests"]["POST /jobs"] == 1


async def test_injected_5xx_are_retried_until_success(
    start_service: StartService, make_client: MakeClient
) -> None:
    """With half the requests failing 500/503, run_job still succeeds by retrying."""
    service = start_service(error_rate=0.5, seed=5)
    client = make_client(
        service.base_url, retry=RetryPolicy(attempts=20, wait_initial=0.01, wait_jitter=0)
    )
    results = [await client.run_job(input=CLIP, kind="video", timeout=20) for _ in range(3)]
    assert all(result.job.status is JobStatus.SUCCEEDED for result in results)
    assert sum(result.retries for result in results) >= 1
    server_errors = sum(
        count
        for status, count in service_stats(service.base_url)["responses"].items()
        if status.startswith("5")
    )
    assert server_errors == client.stats.retries


async def test_5xx_with_retries_off_raises_server_error_at_once(
    start_service: StartService, make_client: MakeClient
) -> None:
    """``retry.set_active(False)`` makes an injected 5xx raise ServerError after one request."""
    retry_module.set_active(False)
    service = start_service(error_rate=1.0)
    client = make_client(service.base_url)
    with pytest.raises(ServerError) as caught:
        await client.create_job(input=CLIP, kind="video")
    assert caught.value.status_code in (500, 503)
    assert caught.value.kind == "internal_error"
    assert (client.stats.requests, client.stats.retries) == (1, 0)


async def test_5xx_beyond_attempts_raises_server_error(
    start_service: StartService, make_client: MakeClient
) -> None:
    """A service that always fails gets exactly ``attempts`` requests, then ServerError."""
    service = start_service(error_rate=1.0)
    client = make_client(
        service.base_url, retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_jitter=0)
    )
    with pytest.raises(ServerError):
        await client.get_job("job_1")
    assert service_stats(service.base_url)["requests"]["GET /jobs/{job_id}"] == 3


async def test_connection_refused_is_a_transport_error_after_bounded_retries(
    make_client: MakeClient,
) -> None:
    """Nothing listening: TransportError after exactly ``attempts`` tries."""
    client = make_client(
        f"http://127.0.0.1:{_free_port()}",
        retry=RetryPolicy(attempts=3, timeout=5.0, wait_initial=0.01, wait_jitter=0),
    )
    with pytest.raises(TransportError) as caught:
        await client.create_job(input=CLIP, kind="video")
    assert isinstance(caught.value, RetryableError)
    assert "POST /jobs" in str(caught.value)
    assert (client.stats.requests, client.stats.retries) == (3, 2)


async def test_every_error_is_an_ittybit_error(make_client: MakeClient) -> None:
    """Callers can catch IttybitError for anything the client raises (here: refused)."""
    retry_module.set_active(False)
    client = make_client(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(IttybitError):
        await client.get_job("job_1")


async def test_a_409_for_a_reused_key_is_permanent_and_sent_once(make_client: MakeClient) -> None:
    """A 409 whose kind says the Idempotency-Key was used for another body is not retried."""
    body = {"kind": "idempotency_key_reused", "message": "key used with another body"}
    with canned_server(409, body) as server:
        client = make_client(server.url)
        with pytest.raises(IdempotencyConflict) as caught:
            await client.create_job(input=CLIP, kind="video", idempotency_key="k" * 32)
        assert caught.value.status_code == 409
        assert server.requests == ["POST /jobs"]


async def test_a_409_for_the_same_request_in_flight_is_retried(make_client: MakeClient) -> None:
    """A 409 whose kind says the same request is still being handled is sent again."""
    body = {"kind": "idempotency_key_in_use", "message": "a request with this key is in flight"}
    retry = RetryPolicy(attempts=3, wait_initial=0.01, wait_jitter=0)
    with canned_server(409, body) as server:
        client = make_client(server.url, retry=retry)
        with pytest.raises(TransientError):
            await client.create_job(input=CLIP, kind="video", idempotency_key="k" * 32)
        assert server.requests == ["POST /jobs"] * 3
