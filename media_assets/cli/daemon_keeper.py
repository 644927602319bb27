"""Keeping one Dagster daemon serving an instance while a command waits on it.

Dagster wants one daemon per instance, and a daemon runs every run with the settings of the
process that started it. So a command reuses a daemon whose heartbeat is fresh only when whoever
started it (recorded in the instance, see ``media_assets.instance.daemon``) sends work where this
command would; otherwise it stops with ``DaemonConflict`` before anything is registered.

Two commands can share an instance (two runs on one home, two homes on one database): the one
whose daemon both rely on may finish first and stop it; the other looks again every few seconds
while it waits and, finding no daemon, starts its own. Two commands finding no daemon at the same
moment must not both start one: starting takes a lease first (an advisory lock on the database,
or a lock file in ``DAGSTER_HOME``) and keeps it while the daemon runs. The lease dies with its
holder, so a crashed command never blocks the others.

A daemon this command started runs through a tether (``media_assets.cli.tether``): it dies with
the command. If it stops on its own, the command starts it again (a few times) and settles the
runs that died with it. On the way out, the daemon's whole process group is stopped, unless
other commands' runs are in progress in it: then only the daemon goes, and their runs finish.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import dagster as dg

from media_assets.cli.home import workspace_file
from media_assets.cli.tether import Tethered
from media_assets.defs.manifest_sensor import MANIFEST_RUN_TAG
from media_assets.instance.daemon import (
    DaemonOwner,
    clear_daemon_owner,
    daemon_command,
    daemon_owner,
    record_daemon_owner,
)
from media_assets.settings import Settings, child_environment, work_identity

DAEMON_HEARTBEAT_FRESH_S = 75.0
CHECK_INTERVAL_S = 5.0
# A daemon that stops on its own is started again this many times before the command gives up.
DAEMON_RESTARTS = 3
_ACTIVE = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


class DaemonConflict(ValueError):
    """A daemon serves this instance with settings that would send this command's work elsewhere."""


class DaemonLost(RuntimeError):
    """The daemon this command started kept stopping on its own."""


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
    """Makes sure a daemon fit for this command serves ``instance`` while the command waits."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        settings: Settings,
        *,
        log_path: Path,
        command_name: str,
        lease: Lease | None = None,
        command: list[str] | None = None,
        check_interval: float = CHECK_INTERVAL_S,
    ) -> None:
        self._instance = instance
        self._settings = settings
        self._log_path = log_path
        self._command_name = command_name
        self._lease = lease if lease is not None else daemon_lease(settings)
        self._command = command or daemon_command(workspace_file(settings))
        self._interval = check_interval
        self._next_check = 0.0
        self._tether: Tethered | None = None
        self._restarts = 0
        self.started = 0  # daemons this keeper started
        self.relied_on = False  # whether a daemon someone else started served this command
        self.fingerprint, self.summary = work_identity(settings)

    @property
    def keeps_one(self) -> bool:
        """Whether a daemon this command started is running."""
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
            self.relied_on = True
            return
        self._try_start()

    def check(self, on_lost: Callable[[], None] | None = None) -> None:
        """Called while waiting (at most every few seconds): keep a daemon serving.

        When our own daemon stopped, its process group (code server, run workers) went with it;
        ``on_lost`` is called before the new one starts, to settle what those workers left.
        """
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._interval
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
            self._launch()
            return
        if not daemon_running(self._instance):
            self._try_start()

    def _try_start(self) -> None:
        if not self._lease.try_take():
            return  # another command is starting one
        if self.relied_on:
            print(
                "the Dagster daemon this command relied on stopped; starting one", file=sys.stderr
            )
        self._launch()

    def _launch(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._tether = Tethered(self._command, env=child_environment(self._settings), log=log)
        self.started += 1
        record_daemon_owner(
            self._instance,
            DaemonOwner(
                host=socket.gethostname(),
                pid=os.getpid(),
                command=self._command_name,
                fingerprint=self.fingerprint,
                summary=self.summary,
            ),
        )

    def stop(self, *, own_backfill: str | None = None) -> None:
        """Stop the daemon this keeper started, if any, and give the lease up.

        Runs of other commands that the daemon launched are left to finish; this command's own
        runs still in progress (it was interrupted) are terminated first.
        """
        tether, self._tether = self._tether, None
        try:
            if tether is not None:
                if other_runs_in_progress(self._instance, own_backfill):
                    if own_backfill is not None:
                        terminate_runs(self._instance, own_backfill)
                    tether.stop(leader_only=True)
                else:
                    tether.stop()
                clear_daemon_owner(self._instance, pid=os.getpid())
                # Its last heartbeats would make the next command think a daemon still serves.
                self._instance.wipe_daemon_heartbeats()
                drop_unstarted_manifest_updates(self._instance)
        finally:
            self._lease.release()


@contextlib.contextmanager
def dagster_daemon(
    instance: dg.DagsterInstance,
    settings: Settings,
    *,
    log_path: Path,
    command_name: str,
    own_backfill: Callable[[], str | None] = lambda: None,
) -> Iterator[DaemonKeeper]:
    """A daemon fit for this command for as long as the block runs.

    Raises ``DaemonConflict`` (before anything is started) when a daemon already serving the
    instance would send the work elsewhere. ``own_backfill`` names, on the way out, the
    backfill this command launched (its runs are this command's to stop).
    """
    keeper = DaemonKeeper(instance, settings, log_path=log_path, command_name=command_name)
    keeper.attach()
    try:
        yield keeper
    finally:
        keeper.stop(own_backfill=own_backfill())


def drop_unstarted_manifest_updates(instance: dg.DagsterInstance) -> None:
    """Delete the manifest updates the stopped daemon's sensor queued and never started.

    The command updates the manifest itself; left queued they would wait for the next daemon,
    and cancelled they would show as a cancelled run after every command. A run another daemon
    took meanwhile has a start time and is left alone.
    """
    queued = instance.get_runs(
        filters=dg.RunsFilter(
            tags={MANIFEST_RUN_TAG: "sensor"},
            statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED],
        )
    )
    for run in queued:
        instance.run_coordinator.cancel_run(run.run_id)
        record = instance.get_run_record_by_id(run.run_id)
        if record is not None and record.start_time is None:
            instance.delete_run(run.run_id)


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
