"""A home on the database opens from the command's settings, whatever its environment holds."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster_postgres import PostgresEventLogStorage

from media_assets.instance.config import write_instance_config
from media_assets.instance.loading import open_home_instance, reads_database_url
from media_assets.settings import sqlalchemy_postgres_url


@pytest.fixture
def database_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_instance_config(home, database=True)
    return home


def test_url_as_typed_by_a_user_still_opens(
    database_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain postgresql:// URL in the environment does not stop the command's own instance."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", postgres_url)  # psycopg 3 would be chosen
    url = sqlalchemy_postgres_url(postgres_url)
    with open_home_instance(database_home, database_url=url) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        instance.add_dynamic_partitions("media_files", ["a.mp4-00000000"])
        assert instance.get_dynamic_partitions("media_files") == ["a.mp4-00000000"]


def test_children_load_the_file_from_their_environment(
    database_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the psycopg2 URL in the environment (as children get it), Dagster loads it as is."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", sqlalchemy_postgres_url(postgres_url))
    with dg.DagsterInstance.from_config(str(database_home)) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.get_runs() == []


def test_a_users_own_storage_is_not_overridden(tmp_path: Path) -> None:
    """Only storage that reads MEDIA_ASSETS_DATABASE_URL takes the settings' URL."""
    home = tmp_path / "own"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert not reads_database_url(home)
    with open_home_instance(home, database_url="postgresql+psycopg2://u@h/db") as instance:
        assert not isinstance(instance.event_log_storage, PostgresEventLogStorage)
