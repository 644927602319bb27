"""Work folder and environment knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets import settings


def test_home_defaults_to_dot_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without MEDIA_ASSETS_HOME the work folder is ./.media_assets, made absolute."""
    monkeypatch.delenv("MEDIA_ASSETS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.media_assets_home() == tmp_path.resolve() / ".media_assets"


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MEDIA_ASSETS_HOME picks the work folder, and the files under it follow."""
    monkeypatch.setenv("MEDIA_ASSETS_HOME", str(tmp_path / "work"))
    assert settings.media_assets_home() == tmp_path / "work"
    assert settings.manifest_path() == tmp_path / "work" / "manifest.duckdb"
    assert settings.sources_db_path() == tmp_path / "work" / "sources.sqlite3"


def test_watch_dir_defaults_to_inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sensor watches $MEDIA_ASSETS_HOME/inbox unless MEDIA_ASSETS_WATCH_DIR says otherwise."""
    monkeypatch.setenv("MEDIA_ASSETS_HOME", str(tmp_path))
    monkeypatch.delenv("MEDIA_ASSETS_WATCH_DIR", raising=False)
    assert settings.watch_dir() == tmp_path / "inbox"
    monkeypatch.setenv("MEDIA_ASSETS_WATCH_DIR", str(tmp_path / "uploads"))
    assert settings.watch_dir() == tmp_path / "uploads"


def test_integer_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files per run and keys per tick have defaults and read the environment."""
    monkeypatch.delenv("MEDIA_ASSETS_FILES_PER_RUN", raising=False)
    assert settings.files_per_run() == 25
    monkeypatch.setenv("MEDIA_ASSETS_SENSOR_MAX_KEYS", "300")
    assert settings.sensor_max_keys() == 300


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
def test_bad_integer_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """A malformed or non-positive number is rejected with the variable's name."""
    monkeypatch.setenv("MEDIA_ASSETS_FILES_PER_RUN", raw)
    with pytest.raises(ValueError, match="MEDIA_ASSETS_FILES_PER_RUN"):
        settings.files_per_run()
