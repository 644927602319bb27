"""The settings object: the one reader of the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from media_assets.settings import (
    SettingsError,
    child_environment,
    load_settings,
    settings_environment,
)


def test_home_defaults_to_dot_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without MEDIA_ASSETS_HOME the work folder is ./.media_assets, made absolute."""
    monkeypatch.chdir(tmp_path)
    assert load_settings().home_dir == tmp_path.resolve() / ".media_assets"


def test_home_from_environment(home: Path) -> None:
    """MEDIA_ASSETS_HOME picks the work folder, and the files under it follow."""
    settings = load_settings()
    assert settings.home_dir == home
    assert settings.manifest_path == home / "manifest.duckdb"
    assert settings.sources_db_path == home / "sources.sqlite3"
    assert settings.dagster_home_dir == home / "dagster_home"


def test_dagster_home_is_kept_when_given(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DAGSTER_HOME the user set is the instance folder, not one under the work folder."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert load_settings().dagster_home_dir == tmp_path / "elsewhere"


def test_watch_dir_defaults_to_inbox(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor watches $MEDIA_ASSETS_HOME/inbox unless MEDIA_ASSETS_WATCH_DIR says otherwise."""
    assert load_settings().watch_path == home / "inbox"
    monkeypatch.setenv("MEDIA_ASSETS_WATCH_DIR", str(tmp_path / "uploads"))
    assert load_settings().watch_path == tmp_path / "uploads"


def test_outputs_default_to_the_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs go to $MEDIA_ASSETS_HOME/outputs unless MEDIA_ASSETS_OUTPUT_DIR says otherwise."""
    assert load_settings().output_path == home / "outputs"
    monkeypatch.setenv("MEDIA_ASSETS_OUTPUT_DIR", str(tmp_path / "kept"))
    assert load_settings().output_path == tmp_path / "kept"


def test_integer_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files per run and keys per tick have defaults and read the environment."""
    assert load_settings().files_per_run == 25
    monkeypatch.setenv("MEDIA_ASSETS_SENSOR_MAX_KEYS", "300")
    assert load_settings().sensor_max_keys == 300


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
def test_bad_integer_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """A malformed or non-positive number is rejected with the variable's name."""
    monkeypatch.setenv("MEDIA_ASSETS_FILES_PER_RUN", raw)
    with pytest.raises(SettingsError, match="MEDIA_ASSETS_FILES_PER_RUN"):
        load_settings()


def test_public_url_map_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """MEDIA_ASSETS_PUBLIC_URL_MAP is folder=url pairs separated by ';'."""
    monkeypatch.setenv("MEDIA_ASSETS_PUBLIC_URL_MAP", "/srv/a=https://cdn/a; /srv/b=https://cdn/b")
    assert load_settings().public_url_map == {"/srv/a": "https://cdn/a", "/srv/b": "https://cdn/b"}


def test_malformed_public_url_map_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair without '=' is a configuration error naming the variable."""
    monkeypatch.setenv("MEDIA_ASSETS_PUBLIC_URL_MAP", "/srv/a")
    with pytest.raises(SettingsError, match="MEDIA_ASSETS_PUBLIC_URL_MAP"):
        load_settings()


def test_output_uri_is_an_s3_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """MEDIA_ASSETS_OUTPUT_URI is an s3:// bucket or prefix, kept without a trailing slash."""
    monkeypatch.setenv("MEDIA_ASSETS_OUTPUT_URI", "s3://deliveries/library/")
    assert load_settings().output_uri == "s3://deliveries/library"


@pytest.mark.parametrize("raw", ["https://cdn.example/out", "s3://", "deliveries/library"])
def test_an_output_uri_that_is_no_s3_prefix_is_rejected(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """Anything but s3://bucket[/prefix] is a configuration error naming the variable."""
    monkeypatch.setenv("MEDIA_ASSETS_OUTPUT_URI", raw)
    with pytest.raises(SettingsError, match="MEDIA_ASSETS_OUTPUT_URI"):
        load_settings()


def test_base_url_follows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key jobs go to the local service, with one to Ittybit, unless a URL is given."""
    assert load_settings().effective_base_url == "http://127.0.0.1:8787"
    monkeypatch.setenv("ITTYBIT_API_KEY", "secret-key")
    assert load_settings().effective_base_url == "https://api.ittybit.com"
    monkeypatch.setenv("ITTYBIT_BASE_URL", "http://127.0.0.1:9999/")
    assert load_settings().effective_base_url == "http://127.0.0.1:9999"


def test_key_error_does_not_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key never appears in the settings' repr."""
    monkeypatch.setenv("ITTYBIT_API_KEY", "secret-key")
    assert "secret-key" not in repr(load_settings())


def test_child_process_loads_the_same_settings(home: Path, tmp_path: Path) -> None:
    """A process started with child_environment() reads back the values the parent chose."""
    chosen = load_settings().model_copy(
        update={"files_per_run": 7, "ittybit_base_url": "http://127.0.0.1:1234"}
    )
    code = (
        "from media_assets.settings import load_settings; s = load_settings(); "
        "print(s.files_per_run, s.effective_base_url, s.home_dir)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        env=child_environment(chosen),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert output == ["7", "http://127.0.0.1:1234", str(home)]


def test_child_environment_drops_stale_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A product variable the parent's settings leave unset is not passed on from the parent."""
    monkeypatch.setenv("ITTYBIT_BASE_URL", "http://127.0.0.1:1111")
    settings = load_settings().model_copy(update={"ittybit_base_url": None})
    env = child_environment(settings)
    assert "ITTYBIT_BASE_URL" not in env
    assert "ITTYBIT_BASE_URL" not in settings_environment(settings)
    assert env["PATH"]


def test_database_url_gets_the_psycopg2_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """postgres:// and postgresql:// both become postgresql+psycopg2://, for Dagster's storage."""
    for given in ("postgres://u:pw@db:5432/media", "postgresql://u:pw@db:5432/media"):
        monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", given)
        settings = load_settings()
        assert settings.uses_database
        assert settings.database_url is not None
        assert (
            settings.database_url.get_secret_value() == "postgresql+psycopg2://u:pw@db:5432/media"
        )


def test_blank_database_url_means_the_sqlite_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty MEDIA_ASSETS_DATABASE_URL is the same as none."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", " ")
    assert not load_settings().uses_database


def test_other_databases_are_refused_without_showing_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A non-PostgreSQL URL is a configuration error that does not repeat the password."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", "mysql://u:hunter2@db/media")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "MEDIA_ASSETS_DATABASE_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(raised.value)


def test_database_password_is_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL may carry a password: the settings' repr hides it."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", "postgresql://u:hunter2@db/media")
    assert "hunter2" not in repr(load_settings())


def test_children_get_the_url_dagster_can_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes the CLI starts read the URL from their environment with the psycopg2 scheme."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", "postgresql://u:pw@db/media")
    env = child_environment(load_settings())
    assert env["MEDIA_ASSETS_DATABASE_URL"] == "postgresql+psycopg2://u:pw@db/media"


def test_requests_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """MEDIA_ASSETS_REQUESTS_PER_SECOND is a positive number; unset means no ceiling."""
    assert load_settings().requests_per_second is None
    monkeypatch.setenv("MEDIA_ASSETS_REQUESTS_PER_SECOND", "2.5")
    assert load_settings().requests_per_second == 2.5
    monkeypatch.setenv("MEDIA_ASSETS_REQUESTS_PER_SECOND", "0")
    with pytest.raises(SettingsError):
        load_settings()


def test_blank_cap_means_no_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty MEDIA_ASSETS_MAX_IN_FLIGHT (as a deployment passes an unset one) is no cap."""
    monkeypatch.setenv("MEDIA_ASSETS_MAX_IN_FLIGHT", "")
    assert load_settings().max_in_flight is None
