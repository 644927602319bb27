"""A warning when other benchmarks share the machine: their figures would distort each other."""

import os
import subprocess
import sys
from pathlib import Path

BENCHES = ("bench/throughput.py", "bench/scale.py", "bench/local_engine.py")


def _ancestors() -> set[str]:
    """This process and the ones that started it (a ``timeout`` wrapper names the bench too)."""
    found: set[str] = set()
    pid = os.getpid()
    while pid > 1 and str(pid) not in found:
        found.add(str(pid))
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        # The parent's pid is the second field after the parenthesised command name.
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def warn_if_other_benches_run() -> None:
    found = subprocess.run(
        ["pgrep", "-f", "|".join(BENCHES)], capture_output=True, text=True, check=False
    ).stdout.split()
    ours = _ancestors()
    others = [pid for pid in found if pid not in ours]
    if others:
        print(
            f"warning: other benchmarks are running (pids {', '.join(others)});"
            " figures will be distorted",
            file=sys.stderr,
        )
