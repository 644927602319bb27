"""Where the resource's cross-process caps live: the home's files, or the shared database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiolimiter import AsyncLimiter

from media_assets.defs.resources import IttybitResource, request_limiter_for, shared_slots_for
from media_assets.engine.slots import LockFileSlots
from media_assets.postgres.request_rate import PostgresRequestRate
from media_assets.postgres.slots import AdvisoryLockSlots


def test_no_cap_means_no_shared_slots(home: Path) -> None:
    """Without max_in_flight no run waits on anything shared."""
    assert shared_slots_for(None) is None


def test_slots_are_lock_files_in_the_home_without_a_database(home: Path) -> None:
    """In a home the cap is the machine's lock files, one folder per cap."""
    slots = shared_slots_for(3)
    assert isinstance(slots, LockFileSlots)
    assert (home / "slots" / "3").is_dir()
    slots.close()


def test_slots_are_advisory_locks_with_a_database(
    home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a database the cap is the deployment's, held in the database."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", postgres_url)
    slots = shared_slots_for(3)
    assert isinstance(slots, AdvisoryLockSlots)
    assert slots.size == 3
    slots.close()
    assert not (home / "slots").exists()


def test_request_ceiling_is_per_process_without_a_database(home: Path) -> None:
    """Without a database each client gets a token bucket of its own."""
    assert request_limiter_for(None, api="http://api") is None
    assert isinstance(request_limiter_for(5.0, api="http://api"), AsyncLimiter)


def test_request_ceiling_is_shared_with_a_database(
    home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a database every client of one API waits on one schedule."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", postgres_url)
    limiter = request_limiter_for(5.0, api="http://api")
    assert isinstance(limiter, PostgresRequestRate)
    assert limiter.name == "http://api"


def test_the_client_pool_fits_the_jobs_the_run_keeps_in_flight() -> None:
    """A run holding more jobs than the resource's default gets a held look for each of them."""
    client = IttybitResource(run_in_flight=16).make_client(in_flight=100)
    try:
        assert client.held_looks_max >= 100
    finally:
        asyncio.run(client.aclose())
