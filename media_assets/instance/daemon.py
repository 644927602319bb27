"""The Dagster daemon of an instance: the command that runs it, and who started it with what.

Dagster wants one daemon per instance, and a daemon runs every run with the settings of the
process that started it. So a command that finds a daemon running must know whose it is before
it hands it work: the starter records itself (host, pid, a fingerprint of the settings that decide
where work goes) in the instance's key-value store, which lives in the instance's own storage and
so is shared by every machine of a deployment.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

_OWNER_KEY = "media_assets/daemon_owner"


def daemon_command(workspace: Path, *, log_level: str = "warning") -> list[str]:
    """``dagster-daemon run`` for the code location of ``workspace``, from this install.

    The console script sits beside the interpreter in a virtual environment; where it does not
    (an unusual install), the module behind the script is run instead.
    """
    script = Path(sys.executable).with_name("dagster-daemon")
    # The module behind the `dagster-daemon` script; it has no public name of its own.
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "dagster._daemon"]
    return [*launcher, "run", "-w", str(workspace), "--log-level", log_level]


@dataclass(frozen=True)
class DaemonOwner:
    """Who started the instance's daemon, and with which settings."""

    host: str
    pid: int  # the process that keeps the daemon (it stops it)
    command: str  # e.g. "media-assets run"
    fingerprint: str  # settings that decide where work goes, hashed
    summary: str  # the same settings in words, for messages (no secrets)

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()


def record_daemon_owner(instance: dg.DagsterInstance, owner: DaemonOwner) -> None:
    # The run storage's key-value table is what Dagster's own daemons keep cursors in; it has
    # no public accessor on the instance.
    instance.run_storage.set_cursor_values({_OWNER_KEY: json.dumps(asdict(owner))})


def daemon_owner(instance: dg.DagsterInstance) -> DaemonOwner | None:
    raw = instance.run_storage.get_cursor_values({_OWNER_KEY}).get(_OWNER_KEY)
    if not raw:
        return None
    try:
        return DaemonOwner(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def clear_daemon_owner(instance: dg.DagsterInstance, *, pid: int) -> None:
    """Forget the owner record if ``pid`` on this host wrote it."""
    owner = daemon_owner(instance)
    if owner is not None and owner.on_this_host and owner.pid == pid:
        instance.run_storage.set_cursor_values({_OWNER_KEY: ""})
