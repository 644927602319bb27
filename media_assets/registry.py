"""The source registry: what is known about each partition key's source file.

Dagster's dynamic partitions hold only keys. The pipeline needs the source URI, size, fingerprint
and per-stage options for a key, and registration must handle 50,000 files in seconds, which rules
out one Dagster event per file. So the facts live in a table of their own, one row per key,
written by registration (the CLI and the ``new_uploads`` sensor) and read by every run:

- in a home, a small SQLite file next to Dagster's storage (``$MEDIA_ASSETS_HOME/sources.sqlite3``,
  ``SqliteSourceRegistry``); WAL mode lets many processes read while one writes;
- with a database (``MEDIA_ASSETS_DATABASE_URL``), a table in it that every machine of the
  deployment shares (``media_assets.postgres.registry``), as Dagster's partitions are shared.

``open_registry(settings)`` picks the one the settings say. Either way, a key once bound to a URI
stays bound to it: ``upsert`` refuses to rebind it, since that would silently attach another
file's history to the partition.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from media_assets.settings import Settings, load_settings
from media_assets.sources import SourceFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    key TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    fingerprint TEXT,
    options_json TEXT NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_uri ON sources (uri);
"""
SOURCE_COLUMNS = ("key", "uri", "name", "size", "mtime_ns", "fingerprint", "options_json")
_COLUMNS = ", ".join(SOURCE_COLUMNS)
# SQLite builds before 3.32 allow at most 999 bound parameters per statement.
_CHUNK = 900
_BUSY_TIMEOUT_S = 30.0


class KeyConflictError(ValueError):
    """Some keys are already registered for a different source URI."""

    def __init__(self, conflicts: Sequence[tuple[SourceFile, str]]) -> None:
        self.conflicts = list(conflicts)
        shown = "; ".join(
            f"{file.key}: {file.uri} (registered for {uri})" for file, uri in self.conflicts[:5]
        )
        more = f" and {len(self.conflicts) - 5} more" if len(self.conflicts) > 5 else ""
        super().__init__(f"partition keys already bound to other sources: {shown}{more}")


class SourceRegistry(Protocol):
    """Source facts by partition key, shared by every process (and machine) of a deployment."""

    def upsert(self, files: Iterable[SourceFile]) -> int:
        """Record or refresh facts for these files in one transaction; returns how many.

        Raises ``KeyConflictError`` (writing nothing) if a key is registered for another URI.
        """
        ...

    def get(self, key: str) -> SourceFile | None:
        """The facts for one key, or ``None`` if it was never registered."""
        ...

    def get_many(self, keys: Iterable[str]) -> dict[str, SourceFile]:
        """The facts for these keys; unregistered keys are absent from the result."""
        ...

    def keys_for_uris(self, uris: Iterable[str]) -> dict[str, str]:
        """Registered partition keys by source URI; unknown URIs are absent."""
        ...

    def stat_index(self) -> dict[str, tuple[int | None, int | None]]:
        """``(size, mtime_ns)`` of every registered key, in one query (for change detection)."""
        ...

    def count(self) -> int:
        """How many keys are registered."""
        ...


def open_registry(settings: Settings) -> SourceRegistry:
    """The registry ``settings`` point at: the database's when there is one, else the home's."""
    if settings.database_url is not None:
        from media_assets.postgres.registry import PostgresSourceRegistry

        return PostgresSourceRegistry(settings.database_url.get_secret_value())
    return SqliteSourceRegistry(settings.sources_db_path)


def default_registry() -> SourceRegistry:
    """The registry of the settings in the environment (what runs and sensors use)."""
    return open_registry(load_settings())


class SqliteSourceRegistry:
    """Source facts by partition key, in a SQLite file shared by all processes of one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def upsert(self, files: Iterable[SourceFile]) -> int:
        """Record or refresh facts for these files in one transaction; returns how many.

        Raises ``KeyConflictError`` (writing nothing) if a key is registered for another URI.
        """
        batch = list(files)
        if not batch:
            return 0
        now_ms = int(time.time() * 1000)
        with self._connect() as conn:
            # Taking the write lock first makes the conflict check and the write one atomic step.
            conn.execute("BEGIN IMMEDIATE")
            try:
                bound = self._uris(conn, [file.key for file in batch])
                conflicts: list[tuple[SourceFile, str]] = []
                for file in batch:  # earlier files of the batch bind their keys too
                    if bound.setdefault(file.key, file.uri) != file.uri:
                        conflicts.append((file, bound[file.key]))
                if conflicts:
                    raise KeyConflictError(conflicts)
                conn.executemany(
                    f"INSERT INTO sources ({_COLUMNS}, registered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET name = excluded.name,"
                    " size = excluded.size, mtime_ns = excluded.mtime_ns,"
                    " fingerprint = excluded.fingerprint, options_json = excluded.options_json",
                    [(*source_row(file), now_ms) for file in batch],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return len(batch)

    def get(self, key: str) -> SourceFile | None:
        """The facts for one key, or ``None`` if it was never registered."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS}, registered_at FROM sources WHERE key = ?", (key,)
            ).fetchone()
        return source_from_row(row) if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, SourceFile]:
        """The facts for these keys; unregistered keys are absent from the result."""
        found: dict[str, SourceFile] = {}
        with self._connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                marks = ", ".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT {_COLUMNS}, registered_at FROM sources WHERE key IN ({marks})", chunk
                ):
                    found[row[0]] = source_from_row(row)
        return found

    def keys_for_uris(self, uris: Iterable[str]) -> dict[str, str]:
        """Registered partition keys by source URI; unknown URIs are absent."""
        found: dict[str, str] = {}
        with self._connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(uris))):
                marks = ", ".join("?" * len(chunk))
                for key, uri in conn.execute(
                    f"SELECT key, uri FROM sources WHERE uri IN ({marks})", chunk
                ):
                    found[uri] = key
        return found

    def stat_index(self) -> dict[str, tuple[int | None, int | None]]:
        """``(size, mtime_ns)`` of every registered key, in one query (for change detection)."""
        with self._connect() as conn:
            return {
                key: (size, mtime_ns)
                for key, size, mtime_ns in conn.execute("SELECT key, size, mtime_ns FROM sources")
            }

    def count(self) -> int:
        """How many keys are registered."""
        with self._connect() as conn:
            (count,) = conn.execute("SELECT count(*) FROM sources").fetchone()
        return int(count)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap, and safe to use from the sensor daemon's threads and from
        # several processes at once. isolation_level=None leaves transactions to the caller.
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            # In WAL mode NORMAL is still crash-safe for the database; it only skips fsyncs.
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    @staticmethod
    def _uris(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(keys):
            marks = ", ".join("?" * len(chunk))
            for key, uri in conn.execute(
                f"SELECT key, uri FROM sources WHERE key IN ({marks})", chunk
            ):
                found[key] = uri
        return found


# A JSONL entry's "kind" rides in the options JSON under a key no stage can have, so registries
# written before it existed read the same and no column is added.
_KIND_KEY = "@kind"
SourceRow = tuple[str, str, str, int | None, int | None, str | None, str]


def source_row(file: SourceFile) -> SourceRow:
    """The stored columns of ``file`` (``SOURCE_COLUMNS``, options as canonical JSON)."""
    return (
        file.key,
        file.uri,
        file.name,
        file.size,
        file.mtime_ns,
        file.fingerprint,
        json.dumps(
            {**file.options, **({_KIND_KEY: file.kind} if file.kind else {})},
            sort_keys=True,
            separators=(",", ":"),
        ),
    )


def source_from_row(row: Sequence[Any]) -> SourceFile:
    """The file stored as ``row`` (``SOURCE_COLUMNS`` first, extra columns ignored)."""
    key, uri, name, size, mtime_ns, fingerprint, options_json = row[:7]
    options = json.loads(options_json)
    kind = options.pop(_KIND_KEY, None)
    return SourceFile(
        key=key,
        uri=uri,
        name=name,
        size=size,
        mtime_ns=mtime_ns,
        fingerprint=fingerprint,
        options=options,
        kind=kind if isinstance(kind, str) else None,
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
