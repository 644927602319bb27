"""Processes that end with the command that started them, however it ends.

A ``media-assets`` command starts helpers (the Dagster daemon with its code server and run
workers, the local Ittybit service, ``dagster dev``). Stopping them in a ``finally`` covers a
normal exit, Ctrl-C and SIGTERM, but not a SIGKILL of the command. So each helper is started
through a tether: a small process that the kernel signals when the command dies
(``PR_SET_PDEATHSIG``), that runs the helper in a process group of its own, and that takes the
whole group down (SIGINT, then SIGKILL after a grace period) when the command dies or asks it
to stop. Run workers are in the daemon's group, so they are interrupted too and cancel their
remote jobs on the way out.

Asked with SIGUSR1 instead, it stops the leader alone and leaves the rest of the group to end
by itself: a daemon shared with other commands goes, the runs it launched for them finish.

Run as ``python -m media_assets.cli.tether PARENT_PID GRACE_S -- COMMAND...``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

from media_assets.processes import group_alive

_PR_SET_PDEATHSIG = 1
DEFAULT_GRACE_S = 30.0
# How often the tether looks at its command and at requests to stop it.
_POLL_S = 0.1


def _die_with_parent(sig: int) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def die_with_parent() -> None:
    """For ``preexec_fn``: the child gets SIGTERM when the process that started it dies."""
    _die_with_parent(signal.SIGTERM)


def stop_group(pgid: int, process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGINT every process of the group, then SIGKILL what is left after ``grace_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    # The leader may be gone while members of its group (run workers) still finish up; polling
    # reaps the leader, so a zombie does not keep the group looking alive.
    while time.monotonic() < deadline and (process.poll() is None or group_alive(pgid)):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _serve(parent_pid: int, grace_s: float, command: Sequence[str]) -> int:
    _die_with_parent(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        return 1
    requested: list[str] = []

    def request(kind: str) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            if not requested:
                requested.append(kind)

        return handler

    # Before the helper starts: a signal caught here is reset to its default in the helper,
    # while one ignored here stays ignored there. A command started in the background by a
    # shell without job control ignores SIGINT, and so would its daemon, which stops on SIGINT.
    signal.signal(signal.SIGTERM, request("group"))
    signal.signal(signal.SIGINT, request("group"))
    signal.signal(signal.SIGUSR1, request("leader"))
    process = subprocess.Popen(list(command), start_new_session=True)
    # The handlers only take the request; it is carried out here. A handler that interrupts a
    # blocking wait() cannot reap the child (the interrupted wait holds Popen's lock), so the
    # exited leader would linger as a zombie and keep its group looking alive for the whole
    # grace period.
    while process.poll() is None and not requested:
        time.sleep(_POLL_S)
    if requested == ["leader"]:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return process.returncode
    # Asked to stop, or the leader exited on its own: nothing of its group may outlive it.
    stop_group(process.pid, process, grace_s)
    return process.returncode if process.returncode is not None else 1


class Tethered:
    """A command run through a tether: ``stop()`` ends it and its whole process group."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        log: IO[bytes] | int | None = None,
        grace_s: float = DEFAULT_GRACE_S,
        cwd: Path | None = None,
    ) -> None:
        tether = [sys.executable, "-m", "media_assets.cli.tether", str(os.getpid()), str(grace_s)]
        self.grace_s = grace_s
        self.process = subprocess.Popen(
            [*tether, "--", *command],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            # Out of the terminal's process group: Ctrl-C reaches the command, which then stops
            # its helpers in the order it needs (cancel runs first, then the daemon, then the
            # service).
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def stop(self, *, leader_only: bool = False) -> None:
        """Stop the command and its group (or the command alone); returns once the tether exited."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGUSR1 if leader_only else signal.SIGTERM)
        try:
            self.process.wait(timeout=self.grace_s + 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(argv: Sequence[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m media_assets.cli.tether PARENT_PID GRACE_S -- COMMAND...")
        return 2
    return _serve(int(argv[0]), float(argv[1]), argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
