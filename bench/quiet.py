"""A warning when other benchmarks share the machine: their figures would distort each other."""

import os
import subprocess
import sys

BENCHES = ("bench/throughput.py", "bench/scale.py", "bench/local_engine.py")


def warn_if_other_benches_run() -> None:
    found = subprocess.run(
        ["pgrep", "-f", "|".join(BENCHES)], capture_output=True, text=True, check=False
    ).stdout.split()
    others = [pid for pid in found if pid != str(os.getpid())]
    if others:
        print(
            f"warning: other benchmarks are running (pids {', '.join(others)});"
            " figures will be distorted",
            file=sys.stderr,
        )
