"""SQLite event log and run storage that keep their connections open.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine, opens a new SQLite connection
and compiles every statement afresh for each access, twice per asset event (run shard and index
shard). A library run stores eight asset events per file (four planned by the daemon, four
materialized by the run), so that cost was most of the orchestration CPU (the README's
Performance section has the figures). This storage is the same files, schema and locking, with
one engine and one open connection per shard.

Every access still goes through the storage's lock and its own transaction, so an open connection
holds no SQLite lock between accesses and other processes see each commit at once. Connections of
run shards not used lately are closed (at most ``MAX_OPEN_SHARDS`` are kept; the index shard stays
open), and a wipe closes all of them before it deletes the files.

``SqliteRunStorage`` likewise builds an engine and opens a connection for every access; the job
journal (a key-value write per remote job), the run queue and every sensor tick go through it.
``OpenSqliteRunStorage`` keeps one engine whose pool keeps its connections open.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster._check as check
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

MAX_OPEN_SHARDS = 16


class OpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one open connection per shard, reused across accesses.

    Configured in ``dagster.yaml`` as::

        event_log_storage:
          module: media_assets.instance.storage
          class: OpenSqliteEventLogStorage
          config:
            base_dir: /absolute/path/to/dagster_home/history/runs

    ``media_assets.instance.config`` writes that block into each home it prepares.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Set before the parent's __init__, which may already connect to initialise the index.
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "OpenSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            check.str_param(shard, "shard")
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine_for(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            # One connection, used by one thread at a time: every access holds the storage lock.
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        self._engines[shard] = engine
        run_shards = [name for name in self._engines if name != INDEX_SHARD_NAME]
        # The index shard takes every asset event and stays open; run shards come and go.
        for name in run_shards[: max(0, len(run_shards) - MAX_OPEN_SHARDS)]:
            self._engines.pop(name).dispose()
        return engine

    def open_shards(self) -> list[str]:
        """The shards with an open connection, least recently used first."""
        with self._db_lock:
            return list(self._engines)

    def close_connections(self) -> None:
        """Close every open shard connection; the next access opens them again."""
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        # The run shards' files are deleted: a connection left open would write to a deleted file.
        self.close_connections()
        super().wipe()

    def dispose(self) -> None:
        self.close_connections()
        super().dispose()


class OpenSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` reusing one engine, whose pool keeps connections open between accesses.

    Configured in ``dagster.yaml`` as::

        run_storage:
          module: media_assets.instance.storage
          class: OpenSqliteRunStorage
          config:
            base_dir: /absolute/path/to/dagster_home/history
    """

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        super().__init__(conn_string, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "OpenSqliteRunStorage":
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._pooled_engine().connect() as conn, conn.begin():
            yield conn

    def _pooled_engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                # SQLAlchemy's default pool for a SQLite file: a few connections, each used by one
                # thread at a time, handed between threads (the daemon's, a run's worker thread).
                self._engine = create_engine(
                    self._conn_string, connect_args={"check_same_thread": False}
                )
            return self._engine

    def dispose(self) -> None:
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
        super().dispose()
