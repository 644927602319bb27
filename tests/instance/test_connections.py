"""The instance's PostgreSQL storage reuses its connections once asked to."""

from __future__ import annotations

import contextlib

import dagster as dg
import psycopg2
import pytest

from media_assets.instance.connections import keep_connections_open
from media_assets.settings import sqlalchemy_postgres_url

READS = 20


def sessions_opened(url: str) -> int:
    """Sessions ever opened on the database of ``url`` (the server's own count)."""
    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.parametrize("kept", [False, True])
def test_reads_reuse_connections_once_kept_open(postgres_url: str, kept: bool) -> None:
    """Dagster opens a session per access; kept open, twenty reads need at most a few."""
    overrides = {"storage": {"postgres": {"postgres_url": sqlalchemy_postgres_url(postgres_url)}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        if kept:
            keep_connections_open(instance)
        before = sessions_opened(postgres_url)
        for _ in range(READS):
            instance.get_runs(limit=1)
            instance.get_dynamic_partitions("media_files")
        opened = sessions_opened(postgres_url) - before - 1  # less the counting session itself
    assert (opened <= 3) if kept else (opened >= 2 * READS)


def test_nothing_changes_on_sqlite(instance: dg.DagsterInstance) -> None:
    """On a SQLite instance it is harmless."""
    keep_connections_open(instance)
    assert instance.get_runs() == []
