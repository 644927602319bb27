"""What the client reads of the local service's extensions, and how it copes without them."""

from __future__ import annotations

import httpx
import pytest
from ittybit_client_helpers import MakeClient

from media_assets.ittybit import IttybitClient, NotFoundError, UnsupportedOperation
from media_assets.ittybit.extensions import ServerExtensions

pytestmark = pytest.mark.anyio


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(200, headers=headers)


def test_the_offered_hold_is_read_from_job_wait_max() -> None:
    """A ``Job-Wait-Max`` header is remembered as the longest hold the server offers."""
    offers = ServerExtensions()
    offers.note(_response({"Job-Wait-Max": "7.5"}))
    assert offers.wait_max == 7.5


def test_a_response_without_the_header_withdraws_the_offer() -> None:
    """A server that stops sending ``Job-Wait-Max`` (e.g. restarted with it off) is polled."""
    offers = ServerExtensions()
    offers.note(_response({"Job-Wait-Max": "20"}))
    offers.note(_response({}))
    assert offers.wait_max == 0.0


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_header_offering_no_positive_hold_is_no_offer(value: str) -> None:
    """A malformed, zero or negative ``Job-Wait-Max`` offers nothing."""
    offers = ServerExtensions()
    offers.note(_response({"Job-Wait-Max": value}))
    assert offers.wait_max == 0.0


async def test_cancel_on_a_server_without_the_route_is_unsupported(
    make_client: MakeClient,
) -> None:
    """A server that has no cancel route (like the hosted API) makes cancel_job unsupported."""

    def hosted(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"kind": "not_found", "message": "no such route"})

    client = make_client("https://api.example", transport=httpx.MockTransport(hosted))
    with pytest.raises(UnsupportedOperation):
        await client.cancel_job("job_1")


async def test_cancel_of_an_unknown_job_is_not_found(client: IttybitClient) -> None:
    """On the local service, cancelling a job that does not exist is NotFoundError."""
    with pytest.raises(NotFoundError) as caught:
        await client.cancel_job("job_missing")
    assert caught.value.kind == "job_not_found"
