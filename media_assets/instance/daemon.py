"""The command that runs a Dagster daemon for a code location."""

from __future__ import annotations

import sys
from pathlib import Path


def daemon_command(code_location_module: str, *, log_level: str = "warning") -> list[str]:
    """``dagster-daemon run`` for ``code_location_module``, from this interpreter's install.

    The console script sits beside the interpreter in a virtual environment; where it does not
    (an unusual install), the module behind the script is run instead.
    """
    script = Path(sys.executable).with_name("dagster-daemon")
    # The module behind the `dagster-daemon` script; it has no public name of its own.
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "dagster._daemon"]
    return [*launcher, "run", "-m", code_location_module, "--log-level", log_level]
