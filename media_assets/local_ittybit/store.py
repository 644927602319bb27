"""SQLite persistence: jobs, standalone tasks and Idempotency-Key records.

One connection (WAL, ``synchronous=NORMAL``) guarded by a lock. Each row keeps the full JSON
document next to the few columns that listing filters and sorts on. A committed row survives a
killed process; only a power cut could lose the last commits, which is fine for a local service.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

Json = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    input TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    document TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, id);
CREATE INDEX IF NOT EXISTS jobs_by_kind ON jobs (kind, id);
CREATE INDEX IF NOT EXISTS jobs_by_input ON jobs (input, id);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
"""

_FILTER_COLUMNS = ("status", "kind", "input")


@dataclass(frozen=True)
class IdempotencyRecord:
    """Which resource a key created, and a hash of the body that created it."""

    scope: str
    key: str
    body_hash: str
    resource_id: str
    created_at: int


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _load(text: str) -> Json:
    return cast(Json, json.loads(text))


class Store:
    """Thread-safe access to ``jobs.sqlite3``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # jobs

    def insert_job(self, job: Mapping[str, Any], key: IdempotencyRecord | None = None) -> None:
        """Store a new job (and the key that created it) in one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO jobs (id, status, kind, input, created_at, document)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    job["id"],
                    job["status"],
                    job["kind"],
                    job["input"],
                    job["created_at"],
                    _dump(job),
                ),
            )
            if key is not None:
                self._put_key(key)

    def save_jobs(self, jobs: Iterable[Mapping[str, Any]]) -> None:
        """Write changed jobs back; many jobs share one commit."""
        rows = [(job["status"], _dump(job), job["id"]) for job in jobs]
        if not rows:
            return
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("UPDATE jobs SET status = ?, document = ? WHERE id = ?", rows)

    def get_job(self, job_id: str) -> Json | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _load(row[0])

    def select_jobs(
        self,
        *,
        filters: Mapping[str, str],
        above_id: str | None,
        below_id: str | None,
        descending: bool,
        limit: int,
    ) -> list[Json]:
        """Jobs matching ``filters`` with ``above_id < id < below_id``, sorted by id."""
        clauses: list[str] = []
        params: list[Any] = []
        for column in _FILTER_COLUMNS:
            if column in filters:
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        if above_id is not None:
            clauses.append("id > ?")
            params.append(above_id)
        if below_id is not None:
            clauses.append("id < ?")
            params.append(below_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT document FROM jobs {where} ORDER BY id {direction} LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [_load(row[0]) for row in rows]

    def count_jobs_by_status(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {str(status): int(count) for status, count in rows}

    def unfinished_jobs(self) -> list[Json]:
        """Jobs a previous run of the service left queued or processing, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT document FROM jobs WHERE status IN ('queued', 'processing') ORDER BY id"
            ).fetchall()
        return [_load(row[0]) for row in rows]

    # standalone tasks

    def insert_task(self, task: Mapping[str, Any], key: IdempotencyRecord | None = None) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO tasks (id, document) VALUES (?, ?)",
                (task["id"], _dump(task)),
            )
            if key is not None:
                self._put_key(key)

    def get_task(self, task_id: str) -> Json | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else _load(row[0])

    # idempotency keys

    def find_key(self, scope: str, key: str) -> IdempotencyRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body_hash, resource_id, created_at FROM idempotency_keys"
                " WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(scope, key, str(row[0]), str(row[1]), int(row[2]))

    def _put_key(self, record: IdempotencyRecord) -> None:
        # REPLACE: an expired key may be reused, and then it points at the new resource.
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency_keys"
            " (scope, key, body_hash, resource_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (record.scope, record.key, record.body_hash, record.resource_id, record.created_at),
        )
