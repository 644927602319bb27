"""Several small connection pools behind one client.

httpcore (1.0.9) walks every connection of a pool whenever a request starts or ends, and for each
idle connection walks them all again (encode/httpcore#1035, unreleased): the cost of a request
grows with the square of the pool's size. A client that holds a connection per job in flight
(held looks) at 100 jobs spent about 40 % of its CPU there, and at 500 jobs nearly all of it.
Pools of at most ``SHARD_SIZE`` connections keep that cost flat; each request goes to the pool
with the fewest requests under way, so every pool's connections are reused before another's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx

SHARD_SIZE = 16


class ConnectionPools:
    """``max_connections`` connections, split into httpx clients of at most ``shard_size``."""

    def __init__(
        self,
        *,
        max_connections: int,
        client: Callable[[int], httpx.AsyncClient],
        shard_size: int = SHARD_SIZE,
    ) -> None:
        """``client(n)`` makes one httpx client with a pool of ``n`` connections."""
        if max_connections < 1 or shard_size < 1:
            raise ValueError("max_connections and shard_size must be >= 1")
        count = -(-max_connections // shard_size)
        per_pool = -(-max_connections // count)
        self._clients = [client(per_pool) for _ in range(count)]
        self._busy = [0] * count

    @property
    def count(self) -> int:
        """How many pools there are."""
        return len(self._clients)

    @contextlib.contextmanager
    def least_busy(self) -> Iterator[httpx.AsyncClient]:
        """The client with the fewest requests under way, counted as busy until the block ends."""
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            yield self._clients[index]
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
