"""Opening a home's instance in the process that prepared it.

A home on a database has ``postgres_url: {env: MEDIA_ASSETS_DATABASE_URL}`` in its
``dagster.yaml``: Dagster reads the URL from the environment of each process that loads the file.
Processes media-assets starts get the URL with the scheme psycopg2 needs (``postgresql+psycopg2``,
see ``media_assets.settings``), but the command's own environment holds whatever the user typed,
and SQLAlchemy 2.1 sends a bare ``postgresql://`` to psycopg 3, which is not installed. So the
command's own instance takes the URL from its settings instead of from the environment.

That copy of the instance carries the URL in its ``InstanceRef`` (Dagster's serializable
description of an instance). Dagster passes a ref to processes it starts, on their command line,
so nothing started from this instance may start Dagster processes itself: those get the
environment (``media_assets.settings.child_environment``) and load the file as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef

from media_assets.instance.config import DATABASE_URL_ENV


def open_home_instance(dagster_home: Path, *, database_url: str | None) -> dg.DagsterInstance:
    """The instance ``dagster_home/dagster.yaml`` describes, on ``database_url`` if it reads it.

    The URL replaces the environment only where the file reads it from
    ``MEDIA_ASSETS_DATABASE_URL``; storage a user configured otherwise is theirs.
    """
    if database_url is None or not reads_database_url(dagster_home):
        return dg.DagsterInstance.from_config(str(dagster_home))
    overrides = {"storage": {"postgres": {"postgres_url": database_url}}}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home), overrides=overrides))


def reads_database_url(dagster_home: Path) -> bool:
    """Whether the home's storage is PostgreSQL at the URL in ``MEDIA_ASSETS_DATABASE_URL``."""
    config = dagster_home / "dagster.yaml"
    if not config.is_file():
        return False
    loaded: Any = yaml.safe_load(config.read_text()) or {}
    storage = loaded.get("storage") if isinstance(loaded, dict) else None
    postgres = storage.get("postgres") if isinstance(storage, dict) else None
    url = postgres.get("postgres_url") if isinstance(postgres, dict) else None
    return url == {"env": DATABASE_URL_ENV}
