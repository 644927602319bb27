"""A throwaway PostgreSQL server for tests and benchmarks: a temporary folder, a loopback port.

``initdb`` makes a cluster in a new temporary folder, ``pg_ctl`` starts it on a free port of
127.0.0.1 (and a Unix socket inside the folder), and ``stop()`` ends it and deletes the folder.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (the
folder is handed to it). The server binaries are found on ``PATH`` or in Debian's
``/usr/lib/postgresql/<version>/bin``. Durability is switched off: nothing here outlives the
process that made it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg2

from media_assets.processes import process_alive

DATABASE = "media_assets"
SUPERUSER = "media_assets"
_SERVER_USER = "postgres"
_START_ATTEMPTS = 3
_STOP_WAIT_S = 30


class ScratchServerError(RuntimeError):
    """The server binaries are missing or the server would not start."""


def server_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``."""
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    raise ScratchServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql`"
        " package (scripts/install-postgres does) or put them on PATH"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ScratchPostgres:
    """One throwaway server; use as a context manager, or ``start()`` then ``stop()``."""

    def __init__(self, *, max_connections: int = 300) -> None:
        self.max_connections = max_connections
        self.port = 0
        self._password = secrets.token_hex(12)
        self._folder: Path | None = None
        self._as_server_user = os.geteuid() == 0

    @property
    def url(self) -> str:
        """``postgresql://`` URL of the server's ``media_assets`` database (with a password)."""
        return f"postgresql://{SUPERUSER}:{self._password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data_dir(self) -> Path:
        if self._folder is None:
            raise ScratchServerError("the server is not started")
        return self._folder / "data"

    def postmaster_pid(self) -> int | None:
        """The server's process id, from its pid file; None when it is not running."""
        with contextlib.suppress(OSError, ValueError, ScratchServerError):
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        return None

    def start(self) -> ScratchPostgres:
        binaries = server_binaries()
        self._folder = Path(tempfile.mkdtemp(prefix="media-assets-pg-"))
        try:
            password_file = self._folder / "password"
            password_file.write_text(self._password)
            if self._as_server_user:
                for path in (self._folder, password_file):
                    shutil.chown(path, _SERVER_USER, _SERVER_USER)
            self._run(
                binaries / "initdb",
                "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={password_file}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            password_file.unlink()
            self._start_on_free_port(binaries)
            with contextlib.closing(psycopg2.connect(self._url_of("postgres"))) as connection:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE DATABASE {DATABASE}")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self, binaries: Path) -> None:
        for attempt in range(_START_ATTEMPTS):
            self.port = free_port()
            options = " ".join(
                (
                    f"-p {self.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={self.data_dir}",
                    f"-c max_connections={self.max_connections}",
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                )
            )
            try:
                self._run(
                    binaries / "pg_ctl", "-D", str(self.data_dir), "-l",
                    str(self.data_dir / "server.log"), "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
                return
            except ScratchServerError:
                # Another process may have taken the port between the probe and the start.
                if attempt == _START_ATTEMPTS - 1:
                    raise

    def stop(self) -> None:
        """Stop the server (fast shutdown, then by its pid) and delete its folder."""
        if self._folder is None:
            return
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ScratchServerError):
                self._run(
                    server_binaries() / "pg_ctl", "-D", str(self.data_dir), "-m", "fast",
                    "-w", "-t", str(_STOP_WAIT_S), "stop",
                )  # fmt: skip
            if process_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, _STOP_WAIT_S)
        shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None

    def __enter__(self) -> ScratchPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _url_of(self, database: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{database}"

    def _run(self, *command: str | Path) -> None:
        user = _SERVER_USER if self._as_server_user else None
        done = subprocess.run(
            [str(part) for part in command],
            user=user,
            group=user,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self._folder,
        )
        if done.returncode != 0:
            raise ScratchServerError(
                f"{Path(str(command[0])).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
