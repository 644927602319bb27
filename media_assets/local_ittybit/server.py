"""Ways to run the service: in the foreground, in a background thread, or in a child process.

The listening socket is always bound before the app is built, so with port 0 the real port is
known up front and every URL the service hands out (outputs, pagination links) carries it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .cli import config_to_argv
from .config import ServiceConfig

LISTENING_PREFIX = "media_assets local ittybit listening on "


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Lets a restarted service take back its port while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class _AnnouncingServer(uvicorn.Server):
    """Prints the listening line once the server accepts connections."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(f"{LISTENING_PREFIX}{self._url}", flush=True)


KEEP_ALIVE_S = 30


def _uvicorn_config(app: Starlette, log_level: str) -> uvicorn.Config:
    # No access log: at thousands of requests per second it would cost more than the work.
    # Idle connections are kept longer than clients keep them (httpx: 5 s, as uvicorn's
    # default): with both at 5 s a client could send on a connection the service was closing,
    # and its POST would fail with a read error and be retried.
    return uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def serve(config: ServiceConfig) -> None:
    """Run the service in the foreground until SIGINT/SIGTERM."""
    sock = bind_socket(config.host, config.port)
    config = replace(config, port=sock.getsockname()[1])
    server = _AnnouncingServer(_uvicorn_config(create_app(config), "info"), config.bound_url)
    server.run(sockets=[sock])


@dataclass(frozen=True)
class RunningService:
    """A service running in this process; ``config.port`` is the real port."""

    base_url: str
    config: ServiceConfig
    app: Starlette


@contextlib.contextmanager
def running_in_thread(config: ServiceConfig, timeout: float = 15.0) -> Iterator[RunningService]:
    """Run the service on a background thread of this process (fast to start, for tests)."""
    sock = bind_socket(config.host, config.port)
    config = replace(config, port=sock.getsockname()[1])
    app = create_app(config)
    server = uvicorn.Server(_uvicorn_config(app, "warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="local-ittybit", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the local Ittybit service did not start")
        time.sleep(0.01)
    try:
        yield RunningService(base_url=config.base_url, config=config, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


class LocalService:
    """The service in a child process, as users run it; survives being stopped and restarted.

    ``restart()`` keeps the data dir and the port, so URLs handed out before stay valid. The
    child's output goes to ``<data_dir>/service.log``.
    """

    def __init__(
        self,
        config: ServiceConfig,
        *,
        startup_timeout: float = 30.0,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        """``preexec_fn`` runs in the child before the service starts (e.g. to tie its life to
        the parent's)."""
        self.config = config
        self.startup_timeout = startup_timeout
        self._preexec_fn = preexec_fn
        self._process: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the service is not running")
        return self._base_url

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the service is not running")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self.config.data_dir / "service.log"

    def start(self) -> LocalService:
        if self._process is not None:
            raise RuntimeError("the service is already running")
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [sys.executable, "-m", "media_assets.local_ittybit"]
        key_file = self._write_key_file()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*command, *config_to_argv(self.config, api_key_file=key_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=_child_env(),
                preexec_fn=self._preexec_fn,
            )
        try:
            listening_url = self._wait_for_listening_line(offset)
            self.config = replace(self.config, port=int(listening_url.rsplit(":", 1)[1]))
            self._base_url = self.config.base_url
            self._wait_until_healthy()
        except BaseException:
            self.stop(kill=True)
            raise
        return self

    def _write_key_file(self) -> Path | None:
        if self.config.api_key is None:
            return None
        path = self.config.data_dir / "api-key"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.config.api_key + "\n")
        return path

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM), or crash it on purpose with ``kill=True`` (SIGKILL)."""
        process, self._process, self._base_url = self._process, None, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self, *, kill: bool = False) -> None:
        """Stop and start again on the same port with the same data dir."""
        self.stop(kill=kill)
        self.start()

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_for_listening_line(self, offset: int) -> str:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                for line in log.read().decode(errors="replace").splitlines():
                    if line.startswith(LISTENING_PREFIX):
                        return line[len(LISTENING_PREFIX) :].strip()
            if self._process is None or self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the local Ittybit service did not start; see {self.log_path}")

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/_local/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the local Ittybit service is not healthy; see {self.log_path}")


def _child_env() -> dict[str, str]:
    # The child must import this very package, even when it is not installed (a source tree).
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    paths = [package_parent, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
