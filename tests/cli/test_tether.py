"""The tether: helpers stop with their command, and a stop ends when the helpers have."""

from __future__ import annotations

import os
import signal
import sys
import time

from media_assets.cli.tether import Tethered

# A helper that ends on SIGINT (Python's KeyboardInterrupt), as the Dagster daemon does.
POLITE = [sys.executable, "-c", "import time; time.sleep(120)"]
# A helper that ignores SIGINT and has to be killed.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)",
]
GRACE_S = 20.0


def started(command: list[str]) -> Tethered:
    tethered = Tethered(command, env=os.environ, grace_s=GRACE_S)
    time.sleep(1.5)  # the tether and its helper are up and the handlers are set
    assert tethered.poll() is None
    return tethered


def test_a_stop_ends_when_the_helper_has_not_at_the_grace_period() -> None:
    """A helper that exits on SIGINT is reaped at once: the stop does not sit out the grace."""
    tethered = started(POLITE)
    began = time.monotonic()
    tethered.stop()
    assert tethered.poll() is not None
    assert time.monotonic() - began < GRACE_S / 2


def test_a_helper_that_ignores_sigint_is_killed_after_the_grace() -> None:
    """The group gets SIGKILL once the grace period is over."""
    tethered = started(STUBBORN)
    began = time.monotonic()
    tethered.stop()
    assert tethered.poll() is not None
    assert time.monotonic() - began >= GRACE_S


def test_a_leader_only_stop_ends_the_helper() -> None:
    """SIGUSR1 stops the leader alone, and the tether exits once it has."""
    tethered = started(POLITE)
    began = time.monotonic()
    tethered.stop(leader_only=True)
    assert tethered.poll() is not None
    assert time.monotonic() - began < GRACE_S / 2


def test_a_helper_stops_on_sigint_though_its_command_ignores_it() -> None:
    """Started with SIGINT ignored (a background job of a script), the helper still ends on it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        tethered = started(POLITE)
    finally:
        signal.signal(signal.SIGINT, previous)
    began = time.monotonic()
    tethered.stop()
    assert tethered.poll() is not None
    assert time.monotonic() - began < GRACE_S / 2
