"""Writing a home's ``dagster.yaml`` and the workspace every Dagster process of it loads.

The template (``dagster.yaml`` next to this file) holds what every instance shares. The storage
depends on the home, so it is added per home, between two marker lines:

- without a database, the custom SQLite run and event log storages (``instance.storage``), with
  the absolute folders Dagster itself would use (a home that has moved gets them corrected);
- with ``MEDIA_ASSETS_DATABASE_URL``, Dagster's PostgreSQL storage (``storage: postgres``), its URL
  read from that variable when Dagster loads the file, so the file holds no password.

Switching a home between the two rewrites the block and keeps everything else the user changed.
A file from before the markers gets its old storage block replaced (or the block added), and a
``dagster.yaml`` the user wrote without the template's header is left as it is.

``workspace.yaml`` beside it names the code location (the repository's own ``workspace.yaml``
gives the same name), so the daemon, ``dev`` and the runs they launch all call it that, and says
where the package lives, so a source tree that is not installed loads too.
"""

import json
import re
from pathlib import Path

from media_assets.settings import env_name

INSTANCE_TEMPLATE = Path(__file__).resolve().parent / "dagster.yaml"
DATABASE_URL_ENV = env_name("database_url")
BLOCK_BEGIN = "# >>> media-assets: the storage of this home (rewritten to match it)"
BLOCK_END = "# <<< media-assets: storage"
_BEGIN_PREFIX = "# >>> media-assets"
_SQLITE_STORAGE = """run_storage:
  module: media_assets.instance.storage
  class: OpenSqliteRunStorage
  config:
    base_dir: {run_dir}
event_log_storage:
  module: media_assets.instance.storage
  class: OpenSqliteEventLogStorage
  config:
    base_dir: {base_dir}
"""
_POSTGRES_STORAGE = f"""storage:
  postgres:
    postgres_url:
      env: {DATABASE_URL_ENV}
"""
_TEMPLATE_HEADER = "# The Dagster instance of media_assets."
_STORAGE_KEY = re.compile(r"^(storage|event_log_storage|run_storage|schedule_storage):", re.M)
_MARKED_BLOCK = re.compile(
    rf"^{re.escape(_BEGIN_PREFIX)}.*?^{re.escape(BLOCK_END)}[^\n]*\n?", re.M | re.S
)
# The block as written before the markers existed.
_UNMARKED_SQLITE_BLOCK = re.compile(
    r"^event_log_storage:\n\s+module: media_assets\.instance\.storage\n"
    r"\s+class: OpenSqliteEventLogStorage\n\s+config:\n\s+base_dir: .*\n?",
    re.M,
)


_WORKSPACE = """\
# Written by media-assets for every Dagster process it starts on this home.
load_from:
  - python_module:
      module_name: {module}
      location_name: {name}
      working_directory: {directory}
"""


def write_workspace(dagster_home: Path, *, module: str, location_name: str) -> Path:
    """Write ``dagster_home/workspace.yaml`` loading ``module`` as ``location_name``."""
    path = dagster_home / "workspace.yaml"
    package_parent = Path(__file__).resolve().parents[2]
    text = _WORKSPACE.format(
        module=module, name=location_name, directory=json.dumps(str(package_parent))
    )
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def run_storage_dir(dagster_home: Path) -> Path:
    """Where Dagster keeps the SQLite run storage of a home (its own default place)."""
    return dagster_home / "history"


def event_log_dir(dagster_home: Path) -> Path:
    """Where Dagster keeps the SQLite event log of a home (its own default place)."""
    return run_storage_dir(dagster_home) / "runs"


def storage_block(dagster_home: Path, *, database: bool) -> str:
    """The marked storage block for a home, on its database or in its own folder."""
    if database:
        body = _POSTGRES_STORAGE
    else:
        # json.dumps: a valid YAML string whatever the path holds
        body = _SQLITE_STORAGE.format(
            run_dir=json.dumps(str(run_storage_dir(dagster_home).resolve())),
            base_dir=json.dumps(str(event_log_dir(dagster_home).resolve())),
        )
    return f"{BLOCK_BEGIN}\n{body}{BLOCK_END}\n"


def write_instance_config(dagster_home: Path, *, database: bool = False) -> Path:
    """Create ``dagster_home/dagster.yaml``, or bring its storage block in line with the home."""
    config = dagster_home / "dagster.yaml"
    block = storage_block(dagster_home, database=database)
    if not config.exists():
        config.write_text(INSTANCE_TEMPLATE.read_text() + "\n" + block)
        return config
    text = config.read_text()
    updated = _with_block(text, block)
    if updated is not None and updated != text:
        config.write_text(updated)
    return config


def _with_block(text: str, block: str) -> str | None:
    """``text`` with its storage block replaced by ``block``; None to leave the file alone."""
    marked = _MARKED_BLOCK.search(text)
    if marked is not None:
        return text[: marked.start()] + block + text[marked.end() :]
    if not text.startswith(_TEMPLATE_HEADER):
        return None  # the user's own file
    unmarked = _UNMARKED_SQLITE_BLOCK.search(text)
    if unmarked is not None:
        return text[: unmarked.start()] + block + text[unmarked.end() :]
    if _STORAGE_KEY.search(text):
        return None  # storage the user configured themselves
    return text.rstrip("\n") + "\n\n" + block
