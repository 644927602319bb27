"""The fault scenarios, each a function of a scratch folder that returns its ``Outcome``.

Tests assert on the outcomes (``test_faults.py``); ``bench/faults.py`` prints them as a table.
Every scenario bounds its waits and stops what it started.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli_helpers import Cli
from fault_bench import (
    Outcome,
    ServiceRecords,
    daemon_pids,
    faulty_service,
    full_disk_service,
    make_clips,
    make_library,
    reckon,
    run_worker_pids,
    wait_until,
)

COMMAND_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Path], Outcome]
    expected_exit: int


def _cli(root: Path, base_url: str) -> Cli:
    cli = Cli(root)
    cli.env["ITTYBIT_BASE_URL"] = base_url
    return cli


def _then(
    first: Outcome, cli: Cli, service: ServiceRecords, paths: list[Path], *args: str
) -> Outcome:
    """Run the command again (e.g. ``--failed-only``); its outcome, with both outputs."""
    again = reckon(
        cli, service, paths, cli.start(*args), started=time.monotonic(), timeout_s=COMMAND_TIMEOUT_S
    )
    again.stdout = first.stdout + "\n--- again\n" + again.stdout
    again.stderr = first.stderr + "\n--- again\n" + again.stderr
    again.wall_s += first.wall_s
    again.leftovers = first.leftovers + again.leftovers
    again.earlier_exits = [*first.earlier_exits, first.exit_code]
    return again


def rate_limit_storm(root: Path) -> Outcome:
    """The service answers 429 above 8 requests/s; the batch slows down, nothing fails."""
    paths = make_library(root / "library", 10)
    with faulty_service(root / "service", root / "library", rate_limit=8.0) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(root / "library"))
        return reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)


def server_error_burst(root: Path) -> Outcome:
    """A third of all API requests answer 5xx; retries absorb them."""
    paths = make_library(root / "library", 10)
    with faulty_service(root / "service", root / "library", error_rate=0.3) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(root / "library"))
        return reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)


def failed_jobs_then_redrive(root: Path) -> Outcome:
    """Two files' jobs fail remotely (exit 1, named); --failed-only then finishes them alone."""
    library = root / "library"
    paths = [*make_library(library, 6), *make_library(library, 2, prefix="broken")]
    with faulty_service(root / "service", library, fail_match="broken-") as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        first = reckon(
            cli,
            service,
            paths,
            cli.start("run", str(library)),
            started=started,
            timeout_s=COMMAND_TIMEOUT_S,
        )
        if first.exit_code != 1 or "broken-000.mp4" not in first.stdout:
            return first  # the test reports what went wrong
        service.restart(fail_match=None)
        return _then(first, cli, service, paths, "run", "--failed-only", str(library))


def hung_jobs_with_deadlines(root: Path) -> Outcome:
    """Some jobs never finish; a 4 s deadline fails just those stages, naming their jobs."""
    paths = make_library(root / "library", 8)
    with faulty_service(root / "service", root / "library", hang_rate=0.15) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", "--deadline", "all=4s", str(root / "library"))
        return reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)


def service_outage(root: Path) -> Outcome:
    """The service is SIGKILLed mid-batch and back 20 s later; every job is picked up again."""
    paths = make_library(root / "library", 8)
    faults = {"latency": (1.5, 3.0)}
    with faulty_service(root / "service", root / "library", **faults) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(root / "library"))
        wait_until(lambda: service.stats()["processing"] >= 4, 120, "jobs in flight")
        service.kill()
        time.sleep(20)
        service.restart()
        return reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)


def run_worker_killed(root: Path) -> Outcome:
    """A run worker is SIGKILLed mid-run; Dagster retries the run and it re-attaches."""
    paths = make_library(root / "library", 10)
    with faulty_service(root / "service", root / "library", latency=(1.0, 2.0)) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(root / "library"))
        wait_until(lambda: service.stats()["processing"] >= 3, 120, "jobs in flight")
        workers = run_worker_pids(cli.home)
        if workers:
            os.kill(workers[0], signal.SIGKILL)
        outcome = reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)
        outcome.stderr += f"\n(killed run workers: {workers[:1]})"
        return outcome


def daemon_killed(root: Path) -> Outcome:
    """The Dagster daemon is SIGKILLed mid-backfill; the command starts it again and finishes."""
    paths = make_library(root / "library", 10)
    with faulty_service(root / "service", root / "library", latency=(1.0, 2.0)) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(root / "library"))
        wait_until(lambda: service.stats()["processing"] >= 3, 120, "jobs in flight")
        for pid in daemon_pids(cli.home):
            os.kill(pid, signal.SIGKILL)
        return reckon(cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S)


def command_terminated(root: Path) -> Outcome:
    """SIGTERM mid-batch: it cancels, stops what it started, exits 143; run again, it finishes."""
    library = root / "library"
    paths = make_library(library, 8)
    with faulty_service(root / "service", library, latency=(4.0, 6.0)) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        process = cli.start("run", str(library))
        wait_until(lambda: service.stats()["processing"] >= 3, 120, "jobs in flight")
        process.send_signal(signal.SIGTERM)
        terminated = reckon(cli, service, paths, process, started=started, timeout_s=120)
        terminated.stdout += f"\n(cancelled on the service: {service.stats()['jobs']['cancelled']})"
        if terminated.exit_code != 143 or terminated.leftovers:
            return terminated
        return _then(terminated, cli, service, paths, "run", str(library))


def command_killed_then_rerun(root: Path) -> Outcome:
    """SIGKILL to the command: its helpers die with it; running it again finishes the work."""
    library = root / "library"
    paths = make_library(library, 8)
    with faulty_service(root / "service", library, latency=(2.0, 3.0)) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        first = cli.start("run", str(library))
        wait_until(lambda: service.stats()["processing"] >= 3, 120, "jobs in flight")
        os.killpg(first.pid, signal.SIGKILL)
        killed = reckon(cli, service, paths, first, started=started, timeout_s=30)
        if killed.leftovers:
            return killed
        return _then(killed, cli, service, paths, "run", str(library))


def disk_full_then_redrive(root: Path) -> Outcome:
    """The service's disk fills up: stages fail saying why; space freed, --failed-only ends it.

    The ffmpeg engine writes real outputs onto a small disk of the service's own (see
    ``full_disk_service``).
    """
    library = root / "library"
    paths = make_clips(library, 3)
    with full_disk_service(root / "service", library) as service:
        cli = _cli(root, service.base_url)
        started = time.monotonic()
        first = reckon(
            cli,
            service,
            paths,
            cli.start("run", str(library)),
            started=started,
            timeout_s=COMMAND_TIMEOUT_S,
        )
        if first.exit_code != 1 or "No space left on device" not in first.stdout:
            return first
        service.free_space()
        return _then(first, cli, service, paths, "run", "--failed-only", str(library))


def file_still_being_written(root: Path) -> Outcome:
    """A file grows while `run` starts: it is taken only once it has settled, whole."""
    library = root / "library"
    paths = make_library(library, 3)
    growing = library / "growing.mp4"
    paths.append(growing)
    stop = threading.Event()

    def write_slowly() -> None:
        with growing.open("wb") as sink:
            for _ in range(12):
                if stop.is_set():
                    return
                sink.write(b"x" * 1024)
                sink.flush()
                time.sleep(0.25)

    writer = threading.Thread(target=write_slowly, daemon=True)
    writer.start()
    try:
        with faulty_service(root / "service", library) as service:
            cli = _cli(root, service.base_url)
            cli.env["MEDIA_ASSETS_SETTLE_SECONDS"] = "1"
            started = time.monotonic()
            process = cli.start("run", str(library))
            outcome = reckon(
                cli, service, paths, process, started=started, timeout_s=COMMAND_TIMEOUT_S
            )
    finally:
        stop.set()
        writer.join(10)
    with sqlite3.connect(root / "home" / "sources.sqlite3") as registry:
        (registered,) = registry.execute(
            "SELECT size FROM sources WHERE uri LIKE '%/growing.mp4'"
        ).fetchone()
    outcome.stderr += f"\n(registered {registered} of {growing.stat().st_size} bytes)"
    return outcome


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("429 storm (8 rps)", rate_limit_storm, 0),
    Scenario("5xx burst (30% of requests)", server_error_burst, 0),
    Scenario("remote job failures + --failed-only", failed_jobs_then_redrive, 0),
    Scenario("hung jobs, 4 s deadline", hung_jobs_with_deadlines, 1),
    Scenario("service SIGKILL, back after 20 s", service_outage, 0),
    Scenario("run worker SIGKILL", run_worker_killed, 0),
    Scenario("daemon SIGKILL mid-backfill", daemon_killed, 0),
    Scenario("command SIGTERM (exits 143), run again", command_terminated, 0),
    Scenario("command SIGKILL, run again", command_killed_then_rerun, 0),
    Scenario("disk full + --failed-only", disk_full_then_redrive, 0),
    Scenario("a file still being written", file_still_being_written, 0),
)
