"""The source registry in the deployment's database: one table every machine shares.

Same contract as the SQLite registry (``media_assets.registry.SourceRegistry``). The table
``media_assets_sources`` is created on first use. An upsert is one statement per thousand rows in
one transaction: ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE uri matches``; a key bound to
another URI is neither inserted nor updated, so it is missing from what the statement returns,
and the whole transaction is rolled back with a ``KeyConflictError``. Two machines registering the
same new key at once are serialised by the key's unique index: the second sees the first's row.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from media_assets.postgres.connection import engine_for, lock_space
from media_assets.registry import (
    SOURCE_COLUMNS,
    KeyConflictError,
    source_from_row,
    source_row,
)
from media_assets.sources import SourceFile

TABLE_NAME = "media_assets_sources"
_SELECT_CHUNK = 10_000

_metadata = sa.MetaData()
sources_table = sa.Table(
    TABLE_NAME,
    _metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("uri", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger),
    sa.Column("mtime_ns", sa.BigInteger),
    sa.Column("fingerprint", sa.Text),
    sa.Column("options_json", sa.Text, nullable=False),
    sa.Column("registered_at", sa.BigInteger, nullable=False),
)
_COLUMNS = [sources_table.c[name] for name in SOURCE_COLUMNS]
_ready: set[str] = set()


class PostgresSourceRegistry:
    """Source facts by partition key, in the table ``media_assets_sources`` of ``url``."""

    def __init__(self, url: str) -> None:
        self._engine = engine_for(url)
        if url not in _ready:
            _create_table(self._engine)
            _ready.add(url)

    def upsert(self, files: Iterable[SourceFile]) -> int:
        batch = list(files)
        if not batch:
            return 0
        latest, conflicts = _one_per_key(batch)
        now_ms = int(time.time() * 1000)
        rows = [
            {**dict(zip(SOURCE_COLUMNS, source_row(file), strict=True)), "registered_at": now_ms}
            for file in latest.values()
        ]
        insert = postgresql.insert(sources_table)
        statement = insert.on_conflict_do_update(
            index_elements=[sources_table.c.key],
            set_={
                name: insert.excluded[name]
                for name in ("name", "size", "mtime_ns", "fingerprint", "options_json")
            },
            where=sources_table.c.uri == insert.excluded.uri,
        ).returning(sources_table.c.key)
        with self._engine.begin() as conn:
            written = {key for (key,) in conn.execute(statement, rows)}
            unwritten = [key for key in latest if key not in written]
            if unwritten or conflicts:
                registered = _uris(conn, unwritten)
                conflicts += [(latest[key], registered[key]) for key in unwritten]
                raise KeyConflictError(conflicts)  # leaving the block rolls the batch back
        return len(batch)

    def get(self, key: str) -> SourceFile | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, SourceFile]:
        found: dict[str, SourceFile] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                query = sa.select(*_COLUMNS).where(
                    sources_table.c.key == sa.any_(sa.literal(chunk))
                )
                for row in conn.execute(query):
                    found[row[0]] = source_from_row(row)
        return found

    def keys_for_uris(self, uris: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(uris))):
                query = sa.select(sources_table.c.key, sources_table.c.uri).where(
                    sources_table.c.uri == sa.any_(sa.literal(chunk))
                )
                for key, uri in conn.execute(query):
                    found[uri] = key
        return found

    def stat_index(self) -> dict[str, tuple[int | None, int | None]]:
        table = sources_table
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.key, table.c.size, table.c.mtime_ns))
            return {key: (size, mtime_ns) for key, size, mtime_ns in rows}

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(sources_table)).scalar_one()
            )


def _create_table(engine: sa.Engine) -> None:
    # Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: take turns.
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_space("schema"), 0)))
        _metadata.create_all(conn, checkfirst=True)


def _one_per_key(
    batch: Sequence[SourceFile],
) -> tuple[dict[str, SourceFile], list[tuple[SourceFile, str]]]:
    """The last file given per key, and files that name a key another file of the batch took.

    One statement may not touch a row twice, so each key goes in once; two URIs for one key in
    the same batch are a conflict as they would be across two batches.
    """
    latest: dict[str, SourceFile] = {}
    conflicts: list[tuple[SourceFile, str]] = []
    for file in batch:
        earlier = latest.get(file.key)
        if earlier is not None and earlier.uri != file.uri:
            conflicts.append((file, earlier.uri))
            continue
        latest[file.key] = file
    return latest, conflicts


def _uris(conn: sa.Connection, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    query = sa.select(sources_table.c.key, sources_table.c.uri).where(
        sources_table.c.key == sa.any_(sa.literal(list(keys)))
    )
    return {key: uri for key, uri in conn.execute(query)}


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _SELECT_CHUNK):
        yield list(items[start : start + _SELECT_CHUNK])
