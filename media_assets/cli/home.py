"""The work folder: ``$MEDIA_ASSETS_HOME`` holds ``DAGSTER_HOME``, outputs and the manifest."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from media_assets.instance.config import write_instance_config, write_workspace
from media_assets.instance.connections import keep_connections_open
from media_assets.instance.loading import open_home_instance
from media_assets.settings import CODE_LOCATION_MODULE, CODE_LOCATION_NAME, Settings


def prepare_home(settings: Settings) -> None:
    """Create the work folder and a persistent ``DAGSTER_HOME`` with its ``dagster.yaml``.

    Dagster deletes a temporary home on exit, losing runs and partitions, so ``DAGSTER_HOME`` is
    always a real folder: the user's own if set, else ``$MEDIA_ASSETS_HOME/dagster_home``. Its
    storage is the database when the settings name one, else the folder itself.
    """
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    settings.dagster_home_dir.mkdir(parents=True, exist_ok=True)
    write_instance_config(settings.dagster_home_dir, database=settings.uses_database)
    workspace_file(settings)


def workspace_file(settings: Settings) -> Path:
    """The workspace every Dagster process of this home loads (written if out of date)."""
    settings.dagster_home_dir.mkdir(parents=True, exist_ok=True)
    return write_workspace(
        settings.dagster_home_dir, module=CODE_LOCATION_MODULE, location_name=CODE_LOCATION_NAME
    )


@contextlib.contextmanager
def open_instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    """The home's Dagster instance (prepared first), closed on exit."""
    prepare_home(settings)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    with open_home_instance(settings.dagster_home_dir, database_url=url) as instance:
        keep_connections_open(instance)  # progress polls and manifests read the log a lot
        yield instance
