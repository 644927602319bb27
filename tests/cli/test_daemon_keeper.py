"""One daemon per instance: reuse a serving one, start one when none does, never two at once."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat

from media_assets.cli.daemon_keeper import DaemonConflict, DaemonKeeper, FileLease
from media_assets.defs.manifest_sensor import MANIFEST_RUN_TAG
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
    keepers: list[DaemonKeeper],
    instance: dg.DagsterInstance,
    tmp_path: Path,
    *,
    base_url: str = "http://127.0.0.1:8787",
) -> DaemonKeeper:
    keeper = DaemonKeeper(
        instance,
        Settings(home=tmp_path / "home", ittybit_base_url=base_url),
        log_path=tmp_path / "daemon.log",
        command_name="media-assets run",
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
    keeper.attach()
    assert keeper.keeps_one and keeper.started == 1
    keeper.stop()
    assert not keeper.keeps_one


def test_reuses_a_daemon_with_a_fresh_heartbeat(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """A daemon already serving the instance is used, not doubled."""
    beat(instance)
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.attach()
    assert not keeper.keeps_one and keeper.started == 0


def test_starts_one_when_the_daemon_relied_on_goes_away(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """When another command stops the daemon relied on (wiping its beats), a check starts one."""
    beat(instance)
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.attach()
    assert keeper.started == 0
    instance.wipe_daemon_heartbeats()
    keeper.check()
    assert keeper.started == 1


def test_two_commands_finding_no_daemon_start_only_one(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """The lease lets one of two commands start a daemon; the other waits on it."""
    first = make_keeper(keepers, instance, tmp_path)
    second = make_keeper(keepers, instance, tmp_path)
    first.attach()
    second.attach()
    assert (first.started, second.started) == (1, 0)
    first.stop()
    second.check()
    assert second.started == 1


def test_checks_are_spaced(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    """Between checks the keeper does not look at the instance again."""
    keeper = DaemonKeeper(
        instance,
        Settings(home=tmp_path / "home"),
        log_path=tmp_path / "daemon.log",
        command_name="media-assets run",
        lease=FileLease(tmp_path / "daemon.lock"),
        command=SLEEPER,
        check_interval=60.0,
    )
    beat(instance)
    keeper.attach()
    keeper.check()
    instance.wipe_daemon_heartbeats()
    keeper.check()
    assert keeper.started == 0


def test_a_daemon_sending_work_elsewhere_is_refused(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """A serving daemon started with another Ittybit URL is not used: DaemonConflict, no start."""
    first = make_keeper(keepers, instance, tmp_path, base_url="http://127.0.0.1:1111")
    first.attach()
    beat(instance)
    second = make_keeper(keepers, instance, tmp_path, base_url="http://127.0.0.1:2222")
    with pytest.raises(DaemonConflict, match=re.escape("127.0.0.1:1111")):
        second.attach()
    assert second.started == 0


def test_our_daemon_dying_is_started_again_after_settling_its_runs(
    tmp_path: Path, instance: dg.DagsterInstance, keepers: list[DaemonKeeper]
) -> None:
    """When the daemon this command keeps dies, it is started again, once its losses are settled."""
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.attach()
    pid = next(iter(_children_of(keeper)))
    os.kill(pid, signal.SIGKILL)
    settled: list[bool] = []
    deadline = time.monotonic() + 20
    while keeper.started < 2 and time.monotonic() < deadline:
        keeper.check(on_lost=lambda: settled.append(True))
        time.sleep(0.1)
    assert keeper.started == 2 and settled == [True]


def _children_of(keeper: DaemonKeeper) -> set[int]:
    """The command behind the keeper's tether (the stand-in daemon)."""
    tether = keeper._tether
    assert tether is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = {
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent(entry) == tether.pid
        }
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the tether started nothing")


def _parent(entry: Path) -> int:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_stopping_its_daemon_deletes_the_manifest_updates_it_never_started(
    keepers: list[DaemonKeeper], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """A manifest update the sensor requested and nobody started is gone after the stop."""
    keeper = make_keeper(keepers, instance, tmp_path)
    keeper.attach()
    for run_id, tags in (
        ("a" * 32, {MANIFEST_RUN_TAG: "sensor"}),
        ("b" * 32, {"dagster/backfill": "someone-elses"}),
    ):
        instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB",
                run_id=run_id,
                status=dg.DagsterRunStatus.NOT_STARTED,
                tags=tags,
            )
        )
    keeper.stop()
    assert instance.get_run_by_id("a" * 32) is None
    assert instance.get_run_by_id("b" * 32) is not None
