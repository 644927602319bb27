"""The fault table: every scenario of ``tests/faults`` run once, with what it cost.

    .venv/bin/python bench/faults.py [--only NAME-SUBSTRING]

Columns: files given; lost (files that neither ended well nor failed with a reason); duplicate
remote jobs (successful jobs beyond one per file and stage, from the service's own records);
requests the service answered since it last started, and how many of them were errors (429,
5xx); the command's exit code against the contract's; wall time. The scenarios and their faults
are described in ``tests/faults/scenarios.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "faults"), str(TESTS)]

from scenarios import SCENARIOS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the scenarios whose name contains this")
    args = parser.parse_args()
    header = (
        f"{'scenario':<40} {'files':>5} {'lost':>4} {'dups':>4} {'requests':>8} "
        f"{'errors':>6} {'exit':>9} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    worst = 0
    for scenario in SCENARIOS:
        if args.only not in scenario.name:
            continue
        with tempfile.TemporaryDirectory(prefix="media-assets-fault-") as scratch:
            started = time.monotonic()
            outcome = scenario.run(Path(scratch))
            wall = time.monotonic() - started
        exit_text = f"{outcome.exit_code} ({scenario.expected_exit})"
        print(
            f"{scenario.name:<40} {outcome.files:>5} {len(outcome.lost):>4} "
            f"{outcome.duplicates:>4} {outcome.requests:>8} {outcome.error_responses:>6} "
            f"{exit_text:>9} {wall:>7.1f}",
            flush=True,
        )
        if outcome.lost or outcome.duplicates or outcome.exit_code != scenario.expected_exit:
            worst = 1
        if outcome.leftovers:
            print(f"  processes left behind: {outcome.leftovers}")
            worst = 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
