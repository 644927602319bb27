"""One daemon per instance: reuse a serving one, start one when none does, never two at once."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat

from media_assets.cli.daemon_keeper import DaemonKeeper, FileLease
from media_assets.settings import Settings

# Stands in for dagster-daemon: a process that lives until it is stopped.
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def beat(instance: dg.DagsterInstance) -> None:
    """A heartbeat as a serving daemon writes it."""
    instance.add_daemon_heartbeat(
        DaemonHeartbeat(timestamp=time.time(), daemon_type="BACKFILL", daemon_id="other", errors=[])
    )


@pytest.fixture
def keepers() -> Iterator[list[DaemonKeeper]]:
    """Keepers made by ``make_keeper``; whatever they started is stopped at teardown."""
    made: list[DaemonKeeper] = []
    yield made
    for keeper in made:
        keeper.stop()


def make_keeper(
    keepers: list[DaemonKeeper], instance: dg.DagsterInstance, tmp_path: Path
) -> DaemonKeeper:
    keeper = DaemonKeeper(
        instance,
        Settings(home=tmp_path / "home"),
        log_path=tmp_path / "daemon.log",
        lease=FileLease(tmp_path / "daemon.lock"),
        command=SLEEPER,
        check_interval=0.0,
    )
    keepers.append(keeper)
    return keeper


def test_starts_a_daemon_when_none_serves(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """No heartbeat and a free lease: the keeper starts one, and stopping ends it."""
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.ensure()
    process = keeper.process
    assert process is not None and process.poll() is None
    keeper.stop()
    assert process.poll() is not None


def test_reuses_a_daemon_with_a_fresh_heartbeat(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """A daemon already serving the instance is used, not doubled."""
    beat(instance)
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.ensure()
    assert keeper.process is None and keeper.started == 0


def test_starts_one_when_the_daemon_relied_on_goes_away(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """When another command stops the daemon relied on (wiping its beats), a check starts one."""
    beat(instance)
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.ensure()
    assert keeper.started == 0
    instance.wipe_daemon_heartbeats()
    keeper.ensure()
    assert keeper.started == 1


def test_two_commands_finding_no_daemon_start_only_one(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """The lease lets one of two commands start a daemon; the other waits on it."""
    first = make_keeper(keepers, instance, tmp_path)
    second = make_keeper(keepers, instance, tmp_path)
    first.ensure()
    second.ensure()
    assert (first.started, second.started) == (1, 0)
    first.stop()
    second.ensure()
    assert second.started == 1


def test_checks_are_spaced(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    """Between checks the keeper does not look at the instance again."""
    keeper = DaemonKeeper(
        instance,
        Settings(home=tmp_path / "home"),
        log_path=tmp_path / "daemon.log",
        lease=FileLease(tmp_path / "daemon.lock"),
        command=SLEEPER,
        check_interval=60.0,
    )
    beat(instance)
    keeper.ensure()
    instance.wipe_daemon_heartbeats()
    keeper.ensure()
    assert keeper.started == 0
