"""Two homes, two machines in effect, sharing one PostgreSQL database and one Ittybit service.

Each home runs `media-assets run --max-in-flight 6` over its own library at the same moment. With
the database the cap is one cap for both (the service never has more than 6 jobs in flight), the
runs and partitions live in PostgreSQL, and either home's manifest lists both libraries.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest
from cli_helpers import Cli

from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService

pytestmark = pytest.mark.slow

FILES_PER_LIBRARY = 40
CAP = 6
RUN_TIMEOUT_S = 150


@pytest.fixture
def shared_service(tmp_path: Path) -> Iterator[LocalService]:
    """One simulate service both homes use, so its high-water mark covers both."""
    config = ServiceConfig(
        port=0,
        data_dir=tmp_path / "ittybit",
        engine="simulate",
        latency=(0.2, 0.6),
        workers=64,
        seed=3,
    )
    service = LocalService(config).start()
    try:
        yield service
    finally:
        service.stop(kill=True)


def home_on(tmp_path: Path, name: str, database_url: str, base_url: str) -> Cli:
    cli = Cli(tmp_path / name)
    cli.env["MEDIA_ASSETS_DATABASE_URL"] = database_url
    cli.env["ITTYBIT_BASE_URL"] = base_url
    return cli


def library(folder: Path, name: str) -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text(
        "".join(
            json.dumps({"url": f"https://media.invalid/{name}/clip-{index:03d}.mp4"}) + "\n"
            for index in range(FILES_PER_LIBRARY)
        )
    )
    return path


def run_together(*commands: tuple[Cli, list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once, wait for all; each is stopped by its id on the way out."""
    started = [(cli, cli.start(*args)) for cli, args in commands]
    done: list[subprocess.CompletedProcess[str]] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        for _, process in started:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            done.append(
                subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
            )
    finally:
        for cli, process in started:
            if process.poll() is None:
                cli.stop(process)
    return done


def test_two_homes_share_the_cap_the_runs_and_the_library(
    tmp_path: Path, postgres_url: str, shared_service: LocalService
) -> None:
    """Both runs succeed, at most 6 jobs were ever in flight, and each home sees both libraries."""
    base_url = shared_service.base_url
    first = home_on(tmp_path, "machine-a", postgres_url, base_url)
    second = home_on(tmp_path, "machine-b", postgres_url, base_url)
    args = ["--engine", "simulate", "--max-in-flight", str(CAP)]
    library_a = library(tmp_path, "library-a")
    outcomes = run_together(
        (first, ["run", str(library_a), *args]),
        (second, ["run", str(library(tmp_path, "library-b")), *args]),
    )
    for outcome in outcomes:
        assert outcome.returncode == 0, outcome.stdout + outcome.stderr

    stats = httpx.get(f"{base_url}/_local/stats", timeout=10).json()
    assert stats["jobs"]["succeeded"] == 2 * FILES_PER_LIBRARY * 4
    assert stats["high_water_in_flight"] <= CAP

    for cli in (first, second):
        shown = cli.run("manifest", "--rebuild", "--format", "json")
        assert shown.returncode == 0, shown.stderr
        uris = {row["source_uri"] for row in json.loads(shown.stdout)}
        for name in ("library-a", "library-b"):
            wanted = {
                f"https://media.invalid/{name}/clip-{i:03d}.mp4" for i in range(FILES_PER_LIBRARY)
            }
            assert wanted <= uris

    # The other machine knows the first one's library: its status counts both, and nothing of
    # the first library is left for it to re-run.
    status = second.run("status")
    assert status.returncode == 0, status.stderr
    assert f" {2 * FILES_PER_LIBRARY} " in status.stdout.splitlines()[2]
    again = second.run("run", str(library_a), "--failed-only", *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing failed" in again.stdout

    with (
        contextlib.closing(psycopg2.connect(postgres_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT status, count(*) FROM runs GROUP BY status")
        runs = dict(cursor.fetchall())
    assert runs.get("SUCCESS", 0) >= 4  # two ranged runs per library at least, and the manifests
    assert set(runs) == {"SUCCESS"}
    for cli in (first, second):
        # Nothing shared stayed on a machine: no SQLite event log, registry or lock-file slots
        # (on one test machine, lock files of one home would look like a shared cap).
        assert not (cli.home / "dagster_home" / "history").exists()
        assert not (cli.home / "sources.sqlite3").exists()
        assert not (cli.home / "slots").exists()
