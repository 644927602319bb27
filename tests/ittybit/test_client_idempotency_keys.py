"""Idempotency-Keys fit Ittybit's documented length, and the client refuses any that do not."""

from __future__ import annotations

import uuid

import pytest
from ittybit_client_helpers import MakeClient, StartService, service_stats

from media_assets.ittybit import idempotency_key

pytestmark = pytest.mark.anyio

CLIP = "https://media.example/library/clip.mp4"


def test_derived_keys_are_32_characters_whatever_the_parts() -> None:
    """A key made from long parts (a forced run's token among them) is still 32 characters."""
    parts = ("a-long-partition-key" * 3, "transcoded", "0" * 16, "s256:" + "f" * 64, 7)
    key = idempotency_key(*parts, str(uuid.uuid4()))
    assert len(key) == 32


@pytest.mark.parametrize("length", [15, 33, 64])
async def test_a_key_of_the_wrong_length_is_refused_before_sending(
    start_service: StartService, make_client: MakeClient, length: int
) -> None:
    """create_job with a key outside 16-32 characters raises ValueError and sends no request."""
    service = start_service()
    client = make_client(service.base_url)
    with pytest.raises(ValueError, match="16 to 32 characters"):
        await client.create_job(input=CLIP, kind="video", idempotency_key="k" * length)
    assert client.stats.requests == 0
    assert service_stats(service.base_url)["requests"].get("POST /jobs", 0) == 0


@pytest.mark.parametrize("length", [16, 32])
async def test_keys_at_the_limits_are_sent(
    start_service: StartService, make_client: MakeClient, length: int
) -> None:
    """Keys of exactly 16 and 32 characters are accepted and create a job."""
    service = start_service()
    client = make_client(service.base_url)
    job = await client.create_job(input=CLIP, kind="video", idempotency_key="k" * length)
    assert job.id.startswith("job_")
