"""The processes a command may need: the local Ittybit service and the Dagster daemon.

Each is started only when nothing already serves, and stopped by whoever started it
(``daemon_keeper`` has the daemon's rules).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import httpx

from media_assets.cli.daemon_keeper import DaemonConflict, daemon_lease, daemon_running
from media_assets.cli.tether import Tethered, die_with_parent
from media_assets.instance.daemon import (
    DaemonOwner,
    clear_daemon_owner,
    daemon_owner,
    record_daemon_owner,
)
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService
from media_assets.settings import (
    Settings,
    child_environment,
    work_identity,
)

DAEMON_HEARTBEAT_FRESH_S = 75.0


class ServiceConflict(ValueError):
    """The local service found running cannot serve this command's library."""


def local_service_health(base_url: str) -> dict[str, Any] | None:
    """What a local service at ``base_url`` says of itself, or None if none answers there."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/_local/health", timeout=2.0)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        health = response.json()
    except ValueError:
        return None
    return health if isinstance(health, dict) else None


def service_answers(base_url: str) -> bool:
    """Whether something speaking the local service's health endpoint answers at ``base_url``."""
    return local_service_health(base_url) is not None


def _share_service(
    base_url: str, health: dict[str, Any], allow_roots: Sequence[Path], engine: str | None
) -> None:
    """Make a running local service able to read the library, or say why it cannot."""
    if health.get("compat") == "hosted":
        raise ServiceConflict(
            f"the Ittybit service at {base_url} behaves as the hosted API: set ITTYBIT_API_KEY "
            "to its key, and give it http(s) or s3 sources"
        )
    if engine is not None and health.get("engine") != engine:
        raise ServiceConflict(
            f"the local Ittybit service at {base_url} runs the {health.get('engine')} engine, "
            f"not {engine}: stop it, or leave out --engine to use it"
        )
    readable = [Path(root) for root in health.get("allow_roots") or []]
    for root in allow_roots:
        if any(root.is_relative_to(known) for known in readable):
            continue
        try:
            response = httpx.post(
                f"{base_url.rstrip('/')}/_local/roots", json={"path": str(root)}, timeout=10.0
            )
        except httpx.HTTPError as error:
            raise ServiceConflict(
                f"the local Ittybit service at {base_url} cannot be asked to read {root}: {error}"
            ) from None
        if response.status_code not in (200, 201):
            raise ServiceConflict(
                f"the local Ittybit service at {base_url} may not read {root} and refused to "
                f"add it (HTTP {response.status_code}): restart it with --allow-root {root}"
            )


@contextlib.contextmanager
def ittybit_service(
    settings: Settings,
    *,
    allow_roots: Sequence[Path],
    engine: str | None = None,
    quiet: bool = False,
) -> Iterator[Settings]:
    """Yield ``settings`` pointing at the service to use: Ittybit with a key, else a local one.

    A local service already answering at the configured URL is shared: it is asked to read the
    library's folders too (``ServiceConflict`` if it cannot), and its output folder is the one
    outputs are found in. Otherwise one is started with the library folders as allowed roots and
    ``settings.output_path`` as its output folder, tied to this process, and stopped on exit.
    The yielded settings carry its URL (and output folder), so the processes started with them
    (the daemon, runs) use them too.
    """
    if settings.uses_hosted_api:
        yield settings
        return
    base_url = settings.effective_base_url
    health = local_service_health(base_url)
    if health is not None:
        _share_service(base_url, health, allow_roots, engine)
        if not quiet:
            print(f"using the local Ittybit service at {base_url}", file=sys.stderr)
        served = health.get("output_dir")
        if isinstance(served, str) and Path(served) != settings.output_path:
            # Its outputs are where it writes them, whatever this command would have chosen.
            settings = settings.model_copy(update={"output_dir": Path(served)})
        yield settings
        return
    config = ServiceConfig(
        host="127.0.0.1",
        port=urlparse(base_url).port or 8787,
        data_dir=settings.local_service_dir,
        output_dir=settings.output_path,
        engine="simulate" if engine == "simulate" else "ffmpeg",
        allow_roots=tuple(path.resolve() for path in allow_roots),
    )
    service = LocalService(config, preexec_fn=die_with_parent)
    service.start()
    if not quiet:
        print(f"started the local Ittybit service at {service.base_url}", file=sys.stderr)
    try:
        yield settings.model_copy(update={"ittybit_base_url": service.base_url})
    finally:
        service.stop()


def serve_dagster_dev(
    instance: dg.DagsterInstance, settings: Settings, command: Sequence[str]
) -> int:
    """Run ``dagster dev`` (webserver, daemon, code server) until it exits or we are stopped.

    ``dagster dev`` starts a daemon of its own, so it is refused while another daemon serves the
    instance (two daemons would run every backfill twice).
    """
    lease = daemon_lease(settings)
    if daemon_running(instance) or not lease.try_take():
        owner = daemon_owner(instance)
        by = f" (started by `{owner.command}`, pid {owner.pid} on {owner.host})" if owner else ""
        raise DaemonConflict(
            f"a Dagster daemon already serves this instance{by}; stop it before `dev`"
        )
    fingerprint, summary = work_identity(settings)
    record_daemon_owner(
        instance,
        DaemonOwner(
            host=socket.gethostname(),
            pid=os.getpid(),
            command="media-assets dev",
            fingerprint=fingerprint,
            summary=summary,
        ),
    )
    tethered = Tethered(command, env=child_environment(settings))
    try:
        return tethered.wait()
    finally:
        tethered.stop()
        clear_daemon_owner(instance, pid=os.getpid())
        instance.wipe_daemon_heartbeats()
        lease.release()
