"""The API request-rate ceiling across every machine: one shared schedule row per API.

A per-process token bucket caps each process; a deployment whose runs share one Ittybit account
needs one ceiling for all of them. This is the generic cell rate algorithm on a row of the table
``media_assets_request_rate``: the row holds the *theoretical arrival time* (TAT) of the next
request. ``acquire()`` reserves a send time in one ``UPDATE ... RETURNING`` (the row lock orders
concurrent callers) and sleeps until then:

    send_at = max(now, TAT - tolerance);   TAT = max(TAT, now) + 1 / rate

where ``tolerance = (burst - 1) / rate`` lets ``burst`` requests through at once after a quiet
spell. Times come from the database server's clock, so machines whose clocks disagree still share
one schedule. A reservation that is not used (its caller was cancelled) only makes the rate lower.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from media_assets.postgres.connection import engine_for, lock_space

TABLE_NAME = "media_assets_request_rate"
_ready: set[tuple[str, str]] = set()


class PostgresRequestRate:
    """At most ``requests_per_second`` across every process on ``url`` that shares ``name``.

    ``acquire()`` is the interface ``media_assets.ittybit.RequestLimiter`` describes.
    """

    def __init__(
        self, url: str, requests_per_second: float, *, name: str, burst: int | None = None
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be > 0")
        self.interval = 1.0 / requests_per_second
        burst = burst if burst is not None else max(1, round(requests_per_second))
        self.tolerance = (burst - 1) * self.interval
        self.name = name
        self._engine = engine_for(url)
        if (url, name) not in _ready:
            _create_row(self._engine, name)
            _ready.add((url, name))

    async def acquire(self) -> float:
        """Reserve the next send time and wait for it; returns the seconds waited."""
        wait = await asyncio.to_thread(self.reserve)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    def reserve(self) -> float:
        """Reserve a send time; returns how many seconds from now it is."""
        with self._engine.begin() as conn:
            tat, now = conn.execute(
                sa.text(
                    f"WITH clock AS (SELECT extract(epoch FROM clock_timestamp()) AS now)"
                    f" UPDATE {TABLE_NAME} SET tat = greatest(tat, clock.now) + :interval"
                    f" FROM clock WHERE name = :name RETURNING tat, clock.now"
                ),
                {"interval": self.interval, "name": self.name},
            ).one()
        earliest = float(tat) - self.interval - self.tolerance
        return max(0.0, earliest - float(now))


def _create_row(engine: sa.Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_space("schema"), 0)))
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {TABLE_NAME}"
                " (name TEXT PRIMARY KEY, tat DOUBLE PRECISION NOT NULL)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE_NAME} (name, tat) VALUES (:name, 0) ON CONFLICT DO NOTHING"
            ),
            {"name": name},
        )
