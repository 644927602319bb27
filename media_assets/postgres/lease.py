"""A named lease held for as long as a process keeps it: a session-level advisory lock.

The lease is free again when its holder releases it or its session ends (the process exited or
its machine vanished; see ``media_assets.postgres.connection``). Used to let only one command of a
deployment start a Dagster daemon at a time.
"""

from __future__ import annotations

import contextlib

import psycopg2
import psycopg2.extensions

from media_assets.postgres.connection import lock_space, session


class AdvisoryLease:
    """The lease ``name`` among every process on the database at ``url``."""

    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._key = (lock_space(f"lease:{name}"), 0)
        self._name = name
        self._session: psycopg2.extensions.connection | None = None

    @property
    def held(self) -> bool:
        return self._session is not None

    def try_take(self) -> bool:
        """Take the lease if no other process holds it; True if this process holds it now."""
        if self._session is not None:
            return True
        connection = session(self._url, purpose=f"lease:{self._name}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", self._key)
            row = cursor.fetchone()
        if row is None or not row[0]:
            connection.close()
            return False
        self._session = connection
        return True

    def release(self) -> None:
        """Give the lease up (ending the session frees it)."""
        if self._session is not None:
            with contextlib.suppress(psycopg2.Error):
                self._session.close()
            self._session = None
