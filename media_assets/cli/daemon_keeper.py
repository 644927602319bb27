"""Keeping one Dagster daemon serving an instance while commands wait on it.

Dagster wants one daemon per instance. A command reuses a daemon whose heartbeat is fresh and
starts one only when none serves. Two commands can share an instance (two homes on one
database), so the one whose daemon they both rely on may finish first and stop it: the other
looks again every few seconds while it waits and, finding no daemon, starts its own.

Two commands finding no daemon at the same moment must not both start one. Starting takes a
lease first (an advisory lock on the database, or a lock file in ``DAGSTER_HOME``) and keeps it
while the daemon runs; a command that cannot take the lease leaves the starting to the one that
holds it. The lease dies with its holder, so a crashed command never blocks the others.

Stopping: the daemon's process group also holds the code server and the run workers it launched.
When other commands' runs are among them, only the daemon is stopped; its code server finishes
the runs in progress and then exits by itself, and a command still waiting starts the next daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

import dagster as dg

from media_assets.instance.daemon import daemon_command
from media_assets.settings import CODE_LOCATION_MODULE, Settings, child_environment

DAEMON_HEARTBEAT_FRESH_S = 75.0
CHECK_INTERVAL_S = 5.0
_ACTIVE = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


class Lease(Protocol):
    """The right to start a daemon for an instance, held by at most one process at a time."""

    def try_take(self) -> bool: ...

    def release(self) -> None: ...


class FileLease:
    """A lease as an ``flock`` on a file; the kernel frees it when its holder exits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_take(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def daemon_lease(settings: Settings) -> Lease:
    """The lease among every command on the settings' instance (all homes on one database)."""
    if settings.database_url is not None:
        from media_assets.postgres.lease import AdvisoryLease

        return AdvisoryLease(settings.database_url.get_secret_value(), "dagster-daemon")
    return FileLease(settings.dagster_home_dir / "daemon.lock")


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """A daemon heartbeat in the last minute and a half means one is serving this instance."""
    heartbeats = instance.get_daemon_heartbeats()
    beat = heartbeats.get("BACKFILL") or heartbeats.get("QUEUED_RUN_COORDINATOR")
    return beat is not None and time.time() - beat.timestamp < DAEMON_HEARTBEAT_FRESH_S


class DaemonKeeper:
    """Makes sure a daemon serves ``instance``, starting one with ``settings`` when none does."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        settings: Settings,
        *,
        log_path: Path,
        lease: Lease | None = None,
        command: list[str] | None = None,
        check_interval: float = CHECK_INTERVAL_S,
    ) -> None:
        self._instance = instance
        self._settings = settings
        self._log_path = log_path
        self._lease = lease if lease is not None else daemon_lease(settings)
        self._command = command or daemon_command(CODE_LOCATION_MODULE)
        self._interval = check_interval
        self._next_check = 0.0
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0  # daemons this keeper started
        self.relied_on = False  # whether a daemon someone else started served this command

    def ensure(self) -> None:
        """Start a daemon if none serves and no other command is starting one (rate-limited)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._interval
        if self.process is not None and self.process.poll() is None:
            return
        if daemon_running(self._instance):
            self.relied_on = True
            return
        if not self._lease.try_take():
            return  # another command is starting one
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment(self._settings),
                start_new_session=True,
            )
        self.started += 1
        again = " again: the one this command relied on stopped" if self.relied_on else ""
        print(f"started a Dagster daemon{again} (log: {self._log_path})", file=sys.stderr)

    def stop(self, *, own_backfill: str | None = None) -> None:
        """Stop the daemon this keeper started, if any, and give the lease up.

        Runs of other commands that the daemon launched are left to finish (see the module
        docstring); this command's own runs still in progress (it was interrupted) are
        terminated, as stopping the daemon's whole process group does when it runs alone.
        """
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                if other_runs_in_progress(self._instance, own_backfill):
                    if own_backfill is not None:
                        terminate_runs(self._instance, own_backfill)
                    stop_process(process)
                else:
                    stop_process_group(process)
            if process is not None:
                # Its last heartbeats would make the next command think a daemon still serves.
                self._instance.wipe_daemon_heartbeats()
        finally:
            self._lease.release()


def other_runs_in_progress(instance: dg.DagsterInstance, own_backfill: str | None) -> bool:
    """Whether runs not of ``own_backfill`` are starting or running on the instance."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=list(_ACTIVE)))
    return any(run.tags.get("dagster/backfill") != own_backfill for run in runs)


def terminate_runs(instance: dg.DagsterInstance, backfill_id: str) -> None:
    """Ask the launcher to end the backfill's runs that are starting or running."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}, statuses=list(_ACTIVE))
    )
    for run in runs:
        with contextlib.suppress(Exception):  # a run that ended meanwhile cannot be cancelled
            instance.run_coordinator.cancel_run(run.run_id)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGINT the process alone (not its children), then SIGKILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
