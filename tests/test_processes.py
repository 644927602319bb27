"""Whether a process or a process group is still there."""

from __future__ import annotations

import os
import subprocess
import sys

from media_assets.processes import group_alive, process_alive


def test_a_reaped_process_is_gone_and_this_one_is_not() -> None:
    """A child that exited and was waited for is gone; this process is alive."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    assert not process_alive(child.pid)
    assert process_alive(os.getpid())


def test_a_group_is_alive_while_a_member_runs() -> None:
    """A group answers while its leader runs and not once it was reaped."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True
    )
    try:
        assert group_alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not group_alive(child.pid)
