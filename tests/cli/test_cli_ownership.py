"""What `media-assets` commands share, reuse and own: other libraries, services, daemons, dev.

Real subprocesses against the simulate service, started by each test on a free loopback port
(and stopped by it), with a home of their own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import Cli, free_port
from fault_bench import (
    FaultyService,
    faulty_service,
    make_library,
    processes_of,
    wait_for_no_process,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def library(tmp_path: Path) -> Path:
    make_library(tmp_path / "library", 3)
    return tmp_path / "library"


@pytest.fixture
def service(tmp_path: Path, library: Path) -> Iterator[FaultyService]:
    """A simulate service that may read ``library`` and the scratch folder's other libraries."""
    with faulty_service(tmp_path / "service", tmp_path) as running:
        yield running


def cli_for(tmp_path: Path, service: FaultyService) -> Cli:
    cli = Cli(tmp_path)
    cli.env["ITTYBIT_BASE_URL"] = service.base_url
    return cli


def test_run_reports_only_the_files_it_was_given(tmp_path: Path, service: FaultyService) -> None:
    """After a library with a broken file, a clean library's run says all ok and exits 0."""
    cli = cli_for(tmp_path, service)
    broken = tmp_path / "older"
    make_library(broken, 2)
    (broken / "broken.mp4").write_bytes(b"")
    os.utime(broken / "broken.mp4", (time.time() - 60, time.time() - 60))
    with faulty_service(tmp_path / "failing", tmp_path, fail_match="broken") as failing:
        cli.env["ITTYBIT_BASE_URL"] = failing.base_url
        first = cli.run("run", str(broken))
    assert first.returncode == 1, first.stdout + first.stderr
    cli.env["ITTYBIT_BASE_URL"] = service.base_url
    clean = make_library(tmp_path / "newer", 5, prefix="fresh")
    second = cli.run("run", str(clean[0].parent))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "broken" not in second.stdout
    assert "5 file(s) to process" in second.stdout
    totals = [line.split() for line in second.stdout.splitlines() if line.startswith("all ")]
    assert totals == [["all", "20", "20", "0", "0", "0"]], second.stdout


def test_run_shares_a_running_service_that_reads_other_folders(
    tmp_path: Path, library: Path
) -> None:
    """A service started for another folder is asked to read the library too: no file fails."""
    elsewhere = tmp_path / "inbox"
    elsewhere.mkdir()
    with faulty_service(tmp_path / "dev-service", elsewhere) as dev_service:
        cli = cli_for(tmp_path, dev_service)
        done = cli.run("run", str(library))
        health = httpx.get(f"{dev_service.base_url}/_local/health", timeout=5).json()
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(library.resolve()) in health["allow_roots"]


def test_run_stops_before_registering_when_the_service_cannot_be_shared(
    tmp_path: Path, library: Path
) -> None:
    """A running service with another engine than asked for: exit 2, nothing registered."""
    with faulty_service(tmp_path / "service", tmp_path) as simulate:
        cli = cli_for(tmp_path, simulate)
        done = cli.run("run", "--engine", "ffmpeg", str(library))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "runs the simulate engine" in done.stderr
    assert not (cli.home / "sources.sqlite3").exists(), "files were registered anyway"


def test_force_creates_new_remote_jobs(
    tmp_path: Path, service: FaultyService, library: Path
) -> None:
    """--force makes a new remote job per stage; without it, unchanged stages stay cached."""
    cli = cli_for(tmp_path, service)
    assert cli.run("run", str(library)).returncode == 0
    again = cli.run("run", str(library))
    assert again.returncode == 0
    assert len(service.jobs()) == 3 * 4, "an unchanged rerun made remote jobs"
    forced = cli.run("run", "--force", str(library))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    jobs = service.jobs()
    assert len(jobs) == 2 * 3 * 4
    assert all(job["status"] == "succeeded" for job in jobs)


def test_a_daemon_with_other_settings_is_not_reused(tmp_path: Path, library: Path) -> None:
    """While one run's daemon serves the home, a run for another service exits 2 untouched."""
    with (
        faulty_service(tmp_path / "slow", tmp_path, latency=(3.0, 4.0)) as slow,
        faulty_service(tmp_path / "other", tmp_path) as other,
    ):
        cli = cli_for(tmp_path, slow)
        first = cli.start("run", str(library))
        try:
            wait_until(lambda: slow.stats()["processing"] >= 1, 120, "the first run's jobs")
            cli.env["ITTYBIT_BASE_URL"] = other.base_url
            second = cli.run("run", str(make_library(tmp_path / "second", 2)[0].parent))
            assert second.returncode == 2, second.stdout + second.stderr
            assert "serves this instance with other settings" in second.stderr
            assert other.jobs() == [], "the second run's work went somewhere"
            out, err = first.communicate(timeout=180)
            assert first.returncode == 0, out + err
        finally:
            if first.poll() is None:
                Cli.stop(first)


def test_dev_stops_everything_it_started_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM to `dev`: the UI, its daemon and the local service all stop."""
    cli = Cli(tmp_path)
    port = free_port()
    process = cli.start("dev", "--port", str(port))
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/server_info"), 180, "the UI")
        assert len(processes_of(cli.home)) >= 3, "dev, its service and dagster dev"
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            Cli.stop(process)
    assert wait_for_no_process(cli.home, 45) == []
    assert not cli.service_answers()


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False
