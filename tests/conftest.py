"""Fixtures shared by every test folder."""

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from product_env import HOME_ENV, is_product_variable

from media_assets.local_ittybit import RunningService, ServiceConfig
from media_assets.local_ittybit.server import running_in_thread
from media_assets.postgres.scratch_server import (
    ScratchPostgres,
    ScratchServerError,
    server_binaries,
)

MakeConfig = Callable[..., ServiceConfig]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without ITTYBIT_*, MEDIA_ASSETS_* or DAGSTER_HOME in its environment."""
    for name in [name for name in os.environ if is_product_variable(name)]:
        monkeypatch.delenv(name)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MEDIA_ASSETS_HOME pointed at a fresh folder in tmp; returns that folder."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv(HOME_ENV, str(folder))
    return folder


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance on disk."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def make_service_config() -> MakeConfig:
    """``(data_dir, **overrides) -> ServiceConfig`` for ``start_service``; folders override it."""

    def make(data_dir: Path, **overrides: Any) -> ServiceConfig:
        return ServiceConfig(data_dir=data_dir, **{"port": 0, "engine": "simulate", **overrides})

    return make


@pytest.fixture
def start_service(
    tmp_path: Path, make_service_config: MakeConfig
) -> Iterator[Callable[..., RunningService]]:
    """Start in-thread local services (each with its own data dir); all stop at teardown."""
    with contextlib.ExitStack() as stack:
        count = 0

        def start(**overrides: Any) -> RunningService:
            nonlocal count
            count += 1
            config = make_service_config(tmp_path / f"service-{count}", **overrides)
            return stack.enter_context(running_in_thread(config))

        yield start


@pytest.fixture
def service(start_service: Callable[..., RunningService]) -> RunningService:
    """A default service of the folder's config: simulate engine, fast jobs, no faults."""
    return start_service()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ScratchPostgres]:
    """One throwaway PostgreSQL server for the session (stopped and deleted at its end)."""
    try:
        server_binaries()
    except ScratchServerError as error:
        # CI installs the server (scripts/install-postgres), so there its absence is a failure.
        if os.environ.get("CI"):
            raise
        pytest.skip(str(error))
    with ScratchPostgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: ScratchPostgres) -> str:
    """``postgresql://`` URL of a new, empty database of its own on the session's server."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with contextlib.closing(psycopg2.connect(postgres_server.url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
    return postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
