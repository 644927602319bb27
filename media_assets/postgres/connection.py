"""Connections to the deployment's database: pooled SQLAlchemy engines and long-lived sessions.

Tables are reached through one SQLAlchemy engine per URL and process (a small pool, checked
before use, so a restarted server is not an error). Locks that must live exactly as long as the
process holding them (slots, leases) use their own psycopg2 session instead: the server releases
a session's advisory locks when the connection drops. A process that dies closes its sockets at
once; a machine that vanishes is noticed by TCP keepalives, which both sides set short here, so
its locks come free within about half a minute.

URLs are secrets (they may carry a password) and are never logged or put in messages.
"""

from __future__ import annotations

import functools
import zlib

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa

from media_assets.settings import libpq_url, sqlalchemy_postgres_url

APPLICATION_NAME = "media_assets"
# Seconds of silence before probing, between probes, and probes lost before the peer is dead.
_KEEPALIVE_IDLE_S, _KEEPALIVE_INTERVAL_S, _KEEPALIVE_COUNT = 10, 5, 3
_SERVER_KEEPALIVES = " ".join(
    f"-c {name}={value}"
    for name, value in (
        ("tcp_keepalives_idle", _KEEPALIVE_IDLE_S),
        ("tcp_keepalives_interval", _KEEPALIVE_INTERVAL_S),
        ("tcp_keepalives_count", _KEEPALIVE_COUNT),
    )
)


@functools.lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    """The process's engine for ``url`` (any accepted PostgreSQL scheme), made once."""
    return sa.create_engine(
        sqlalchemy_postgres_url(url),
        pool_size=2,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"application_name": APPLICATION_NAME},
    )


def session(url: str, *, purpose: str) -> psycopg2.extensions.connection:
    """A new autocommit session for locks held as long as it lives; ``purpose`` names it.

    The name shows in ``pg_stat_activity.application_name``, so an operator can see who holds
    what.
    """
    connection = psycopg2.connect(
        libpq_url(url),
        application_name=f"{APPLICATION_NAME}:{purpose}",
        keepalives=1,
        keepalives_idle=_KEEPALIVE_IDLE_S,
        keepalives_interval=_KEEPALIVE_INTERVAL_S,
        keepalives_count=_KEEPALIVE_COUNT,
        options=_SERVER_KEEPALIVES,
    )
    connection.autocommit = True
    return connection


def lock_space(name: str) -> int:
    """A stable 32-bit advisory-lock namespace for ``name`` (the first key of a two-key lock)."""
    return zlib.crc32(f"{APPLICATION_NAME}:{name}".encode()) - 2**31
