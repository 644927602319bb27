"""The work folder: ``$MEDIA_ASSETS_HOME`` holds ``DAGSTER_HOME``, outputs and the manifest."""

from __future__ import annotations

import os
from pathlib import Path

from media_assets.instance.config import write_instance_config
from media_assets.settings import media_assets_home


def prepare_home() -> Path:
    """Create the work folder and a persistent ``DAGSTER_HOME`` in it; export both.

    Dagster deletes a temporary home on exit, losing runs and partitions, so ``DAGSTER_HOME`` is
    always a real folder: the user's own if set, else ``$MEDIA_ASSETS_HOME/dagster_home``.
    """
    home = media_assets_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["MEDIA_ASSETS_HOME"] = str(home)
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster_home").resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    write_instance_config(dagster_home)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return home
