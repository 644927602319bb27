"""The processes a command may need: the local Ittybit service and the Dagster daemon.

Each is started only when nothing already serves, and stopped by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import httpx

from media_assets.cli.home import workspace_file
from media_assets.cli.tether import Tethered, die_with_parent
from media_assets.instance.daemon import (
    DaemonOwner,
    clear_daemon_owner,
    daemon_command,
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


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """A daemon heartbeat in the last minute and a half means one is serving this instance."""
    heartbeats = instance.get_daemon_heartbeats()
    beat = heartbeats.get("BACKFILL") or heartbeats.get("QUEUED_RUN_COORDINATOR")
    return beat is not None and time.time() - beat.timestamp < DAEMON_HEARTBEAT_FRESH_S


class DaemonConflict(ValueError):
    """A daemon serves this instance with settings that would send this command's work elsewhere."""


class DaemonLost(RuntimeError):
    """The daemon this command started kept stopping on its own."""


# A daemon that stops on its own is started again this many times before the command gives up.
DAEMON_RESTARTS = 3


class DaemonHandle:
    """The daemon a command relies on: its own (tethered) or one it found serving."""

    def __init__(
        self, instance: dg.DagsterInstance, settings: Settings, *, log_path: Path, command: str
    ) -> None:
        self._instance = instance
        self._settings = settings
        self._log_path = log_path
        self._command = command
        self._tether: Tethered | None = None
        self._restarts = 0
        self.fingerprint, self.summary = work_identity(settings)

    @property
    def started(self) -> bool:
        return self._tether is not None

    def attach(self) -> None:
        """Use the daemon serving the instance if its settings match, else start one."""
        if daemon_running(self._instance):
            owner = daemon_owner(self._instance)
            if owner is not None and owner.fingerprint != self.fingerprint:
                raise DaemonConflict(
                    f"a Dagster daemon started by `{owner.command}` (pid {owner.pid} on "
                    f"{owner.host}) serves this instance with other settings ({owner.summary}); "
                    f"this command has {self.summary}. Let it finish or stop it, or use the same "
                    "settings"
                )
            return
        self._start()

    def check(self, on_lost: Callable[[], None] | None = None) -> None:
        """Called while waiting: a daemon that went away is started again.

        When our own daemon stopped, its process group (code server, run workers) went with it;
        ``on_lost`` is called before the new one starts, to settle what those workers left.
        """
        if self._tether is not None:
            if self._tether.poll() is None:
                return
            self._restarts += 1
            if self._restarts > DAEMON_RESTARTS:
                raise DaemonLost(
                    f"the Dagster daemon stopped {self._restarts} times; see {self._log_path}"
                )
            print("the Dagster daemon stopped; starting it again", file=sys.stderr)
            self._tether = None
            self._instance.wipe_daemon_heartbeats()
            if on_lost is not None:
                on_lost()
            self._start()
            return
        if not daemon_running(self._instance):
            # The command that kept the daemon we used has finished and stopped it.
            self._start()

    def _start(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._tether = Tethered(
                daemon_command(workspace_file(self._settings)),
                env=child_environment(self._settings),
                log=log,
            )
        record_daemon_owner(
            self._instance,
            DaemonOwner(
                host=socket.gethostname(),
                pid=os.getpid(),
                command=self._command,
                fingerprint=self.fingerprint,
                summary=self.summary,
            ),
        )

    def stop(self) -> None:
        if self._tether is None:
            return
        tether, self._tether = self._tether, None
        tether.stop()
        clear_daemon_owner(self._instance, pid=os.getpid())
        # Its last heartbeats would make the next command think a daemon is still serving.
        self._instance.wipe_daemon_heartbeats()


@contextlib.contextmanager
def dagster_daemon(
    instance: dg.DagsterInstance, settings: Settings, *, log_path: Path, command: str
) -> Iterator[DaemonHandle]:
    """A daemon for this command's work, stopped on exit if the command started it.

    Raises ``DaemonConflict`` (before anything is started) when a daemon already serving the
    instance would send the work elsewhere.
    """
    handle = DaemonHandle(instance, settings, log_path=log_path, command=command)
    handle.attach()
    try:
        yield handle
    finally:
        handle.stop()


def serve_dagster_dev(
    instance: dg.DagsterInstance, settings: Settings, command: Sequence[str]
) -> int:
    """Run ``dagster dev`` (webserver, daemon, code server) until it exits or we are stopped.

    ``dagster dev`` starts a daemon of its own, so it is refused while another daemon serves the
    instance (two daemons would run every backfill twice).
    """
    if daemon_running(instance):
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
