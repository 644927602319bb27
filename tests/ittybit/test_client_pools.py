"""Connection pools: many small ones behind a client, each request on the least busy."""

from __future__ import annotations

import httpx
import pytest

from media_assets.ittybit.pools import SHARD_SIZE, ConnectionPools


def _recording(sizes: list[int]) -> ConnectionPools:
    def client(connections: int) -> httpx.AsyncClient:
        sizes.append(connections)
        return httpx.AsyncClient(limits=httpx.Limits(max_connections=connections))

    return ConnectionPools(max_connections=200, client=client)


@pytest.mark.anyio
async def test_a_large_pool_is_split_into_small_ones() -> None:
    """Two hundred connections become pools of at most SHARD_SIZE, together at least 200."""
    sizes: list[int] = []
    pools = _recording(sizes)
    try:
        assert pools.count == len(sizes) > 1
        assert max(sizes) <= SHARD_SIZE
        assert sum(sizes) >= 200
    finally:
        await pools.aclose()


@pytest.mark.anyio
async def test_a_request_goes_to_the_least_busy_pool() -> None:
    """While two pools each carry a request, the third gets the next; a freed one comes first."""
    pools = ConnectionPools(max_connections=3, client=lambda n: httpx.AsyncClient(), shard_size=1)
    try:
        with pools.least_busy() as first, pools.least_busy() as second, pools.least_busy() as third:
            assert len({id(first), id(second), id(third)}) == 3
        with pools.least_busy() as again:
            assert again is first
    finally:
        await pools.aclose()


def test_pool_sizes_must_be_positive() -> None:
    """A pool of no connections is refused before any client is made."""
    with pytest.raises(ValueError, match="must be >= 1"):
        ConnectionPools(max_connections=0, client=lambda n: httpx.AsyncClient())
