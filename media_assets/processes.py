"""Whether a process, or a process group, is still there: signal 0, asked of the kernel."""

from __future__ import annotations

import os
from collections.abc import Callable


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists, also when it belongs to someone we may not signal."""
    return _answers(os.kill, pid)


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` exists."""
    return _answers(os.killpg, pgid)


def _answers(send: Callable[[int, int], None], target: int) -> bool:
    try:
        send(target, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
