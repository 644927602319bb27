"""Writing a home's ``dagster.yaml`` and the workspace every Dagster process of it loads.

The template (``dagster.yaml`` next to this file) holds what every instance shares. The event
log storage needs the absolute folder of its home's event log, so it is added per home; a home
that has moved gets the path corrected, a file written from an older template gets the block
added, and everything else a user changed in the file is kept.

``workspace.yaml`` beside it names the code location (the repository's own ``workspace.yaml``
gives the same name), so the daemon, ``dev`` and the runs they launch all call it that, and says
where the package lives, so a source tree that is not installed loads too.
"""

import json
import re
from pathlib import Path

INSTANCE_TEMPLATE = Path(__file__).resolve().parent / "dagster.yaml"
_STORAGE_BLOCK = """
event_log_storage:
  module: media_assets.instance.storage
  class: OpenSqliteEventLogStorage
  config:
    base_dir: {base_dir}
"""
_TEMPLATE_HEADER = "# The Dagster instance of media_assets."
_STORAGE_KEY = re.compile(r"^(storage|event_log_storage|run_storage):", re.MULTILINE)
_BASE_DIR_LINE = re.compile(
    r"(class: OpenSqliteEventLogStorage\n\s+config:\n\s+base_dir: )(.*)$", re.MULTILINE
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


def event_log_dir(dagster_home: Path) -> Path:
    """Where Dagster keeps the SQLite event log of a home (its own default place)."""
    return dagster_home / "history" / "runs"


def write_instance_config(dagster_home: Path) -> Path:
    """Create ``dagster_home/dagster.yaml`` if missing, or point its event log at this home."""
    config = dagster_home / "dagster.yaml"
    base_dir = json.dumps(str(event_log_dir(dagster_home).resolve()))  # a valid YAML string
    if not config.exists():
        config.write_text(INSTANCE_TEMPLATE.read_text() + _STORAGE_BLOCK.format(base_dir=base_dir))
        return config
    text = config.read_text()
    found = _BASE_DIR_LINE.search(text)
    if found is not None and found.group(2).strip() != base_dir:
        config.write_text(text[: found.start(2)] + base_dir + text[found.end(2) :])
    elif found is None and text.startswith(_TEMPLATE_HEADER) and not _STORAGE_KEY.search(text):
        # Written from an older template, before the storage block: add it, keeping any edits.
        config.write_text(text.rstrip("\n") + "\n" + _STORAGE_BLOCK.format(base_dir=base_dir))
    return config
