"""Where the project keeps its files, and the few knobs read from the environment.

Everything lives under one work folder, ``MEDIA_ASSETS_HOME`` (default ``./.media_assets``), so a
library's state can be moved, inspected or deleted as a unit. Values are read on every call, not
cached at import, so tests and long-lived processes see changes to the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MEDIA_ASSETS_HOME"
WATCH_DIR_ENV = "MEDIA_ASSETS_WATCH_DIR"
FILES_PER_RUN_ENV = "MEDIA_ASSETS_FILES_PER_RUN"
SENSOR_MAX_KEYS_ENV = "MEDIA_ASSETS_SENSOR_MAX_KEYS"

# The code location every Dagster process media-assets starts loads (daemon, `dev`, closing).
CODE_LOCATION_MODULE = "media_assets.definitions"
DEFAULT_HOME = ".media_assets"
DEFAULT_FILES_PER_RUN = 25
# The daemon checks every added key with one query and logs it, and the whole tick must fit in
# Dagster's 60 s sensor timeout: a couple of thousand keys per tick keeps well inside that.
DEFAULT_SENSOR_MAX_KEYS = 2000


def media_assets_home() -> Path:
    """The work folder (absolute); it is not created here."""
    raw = os.environ.get(HOME_ENV, "").strip() or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


def sources_db_path() -> Path:
    """The source registry: facts about every registered file, by partition key."""
    return media_assets_home() / "sources.sqlite3"


def manifest_path() -> Path:
    """The DuckDB manifest written by the ``batch_manifest`` asset."""
    return media_assets_home() / "manifest.duckdb"


def watch_dir() -> Path:
    """The folder the ``new_uploads`` sensor watches (default ``$MEDIA_ASSETS_HOME/inbox``)."""
    raw = os.environ.get(WATCH_DIR_ENV, "").strip()
    if raw:
        return Path(raw).expanduser().resolve()
    return media_assets_home() / "inbox"


def files_per_run() -> int:
    """How many files one sensor-launched run processes."""
    return env_int(FILES_PER_RUN_ENV, DEFAULT_FILES_PER_RUN)


def sensor_max_keys() -> int:
    """The most partition keys the sensor adds and requests in one tick."""
    return env_int(SENSOR_MAX_KEYS_ENV, DEFAULT_SENSOR_MAX_KEYS)


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    """A positive integer from the environment; a malformed value is a configuration error."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value
