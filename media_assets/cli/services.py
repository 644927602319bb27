"""The processes a command may need: the local Ittybit service and the Dagster daemon.

Each is started only when nothing already serves, and stopped by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import httpx

from media_assets.instance.daemon import daemon_command
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService
from media_assets.settings import CODE_LOCATION_MODULE, Settings, child_environment

DAEMON_HEARTBEAT_FRESH_S = 75.0


def service_answers(base_url: str) -> bool:
    """Whether something speaking the local service's health endpoint answers at ``base_url``."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/_local/health", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@contextlib.contextmanager
def ittybit_service(
    settings: Settings,
    *,
    allow_roots: Sequence[Path],
    engine: str = "ffmpeg",
    quiet: bool = False,
) -> Iterator[Settings]:
    """Yield ``settings`` pointing at the service to use: Ittybit with a key, else a local one.

    A local service already answering at the configured URL is used as it is; otherwise one is
    started with the library folders as allowed roots and stopped on exit. The yielded settings
    carry its URL, so the processes started with them (the daemon, runs) use it too.
    """
    if settings.uses_hosted_api:
        yield settings
        return
    base_url = settings.effective_base_url
    if service_answers(base_url):
        yield settings
        return
    config = ServiceConfig(
        host="127.0.0.1",
        port=urlparse(base_url).port or 8787,
        data_dir=settings.local_service_dir,
        engine="ffmpeg" if engine == "ffmpeg" else "simulate",
        allow_roots=tuple(path.resolve() for path in allow_roots),
    )
    service = LocalService(config)
    service.start()
    if not quiet:
        print(f"started the local Ittybit service at {service.base_url}", file=sys.stderr)
    try:
        yield settings.model_copy(update={"ittybit_base_url": service.base_url})
    finally:
        service.stop()


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """A daemon heartbeat in the last minute and a half means one is serving this instance."""
    heartbeats = instance.get_daemon_heartbeats()
    beat = heartbeats.get("BACKFILL") or heartbeats.get("QUEUED_RUN_COORDINATOR")
    return beat is not None and time.time() - beat.timestamp < DAEMON_HEARTBEAT_FRESH_S


@contextlib.contextmanager
def dagster_daemon(
    instance: dg.DagsterInstance, settings: Settings, *, log_path: Path
) -> Iterator[bool]:
    """Run ``dagster-daemon`` with ``settings`` unless one already runs; yields if we started it."""
    if daemon_running(instance):
        yield False
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            daemon_command(CODE_LOCATION_MODULE),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_environment(settings),
            start_new_session=True,
        )
    try:
        yield True
    finally:
        stop_process_group(process)
        # Its last heartbeats would make the next command think a daemon is still serving.
        instance.wipe_daemon_heartbeats()


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGINT the process and its children (the daemon's code server), then SIGKILL stragglers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
