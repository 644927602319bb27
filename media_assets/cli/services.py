"""The processes a command may need: the local Ittybit service and the Dagster daemon.

Each is started only when nothing already serves, and stopped by whoever started it
(``daemon_keeper`` has the daemon's rules).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import httpx

from media_assets.cli.daemon_keeper import DaemonKeeper
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService
from media_assets.settings import Settings


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


@contextlib.contextmanager
def dagster_daemon(
    instance: dg.DagsterInstance,
    settings: Settings,
    *,
    log_path: Path,
    own_backfill: str | None = None,
) -> Iterator[DaemonKeeper]:
    """A daemon serving ``instance`` for as long as the block runs.

    One already serving is used; else one is started with ``settings`` and stopped on exit. Call
    the keeper's ``ensure()`` while waiting: if the daemon relied on goes away (another command
    stopped it), it starts one.
    """
    keeper = DaemonKeeper(instance, settings, log_path=log_path)
    keeper.ensure()
    try:
        yield keeper
    finally:
        keeper.stop(own_backfill=own_backfill)
