"""A lease in the database: one holder at a time, free again when its holder goes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from media_assets.postgres.lease import AdvisoryLease


def test_one_holder_at_a_time(postgres_url: str) -> None:
    """A second process cannot take a held lease until the first releases it."""
    first, second = AdvisoryLease(postgres_url, "daemon"), AdvisoryLease(postgres_url, "daemon")
    try:
        assert first.try_take()
        assert not second.try_take()
        first.release()
        assert second.try_take()
    finally:
        first.release()
        second.release()


def test_other_names_are_other_leases(postgres_url: str) -> None:
    """Leases of different names do not exclude each other."""
    daemon, other = AdvisoryLease(postgres_url, "daemon"), AdvisoryLease(postgres_url, "other")
    try:
        assert daemon.try_take() and other.try_take()
    finally:
        daemon.release()
        other.release()


def _hold(url: str, flag: str) -> None:
    lease = AdvisoryLease(url, "daemon")
    assert lease.try_take()
    Path(flag).touch()
    time.sleep(3600)


def test_lease_of_a_killed_holder_is_free(postgres_url: str, tmp_path: Path) -> None:
    """A holder that dies without releasing does not keep the lease."""
    flag = tmp_path / "held"
    holder = multiprocessing.get_context("spawn").Process(
        target=_hold, args=(postgres_url, str(flag))
    )
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert time.monotonic() < deadline, "the holder never took the lease"
            time.sleep(0.05)
    finally:
        holder.kill()
        holder.join()
    lease = AdvisoryLease(postgres_url, "daemon")
    deadline = time.monotonic() + 10
    try:
        while not lease.try_take():
            assert time.monotonic() < deadline, "the lease stayed held"
            time.sleep(0.05)
    finally:
        lease.release()
