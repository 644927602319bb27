"""Terminating a run mid-flight cancels its remote jobs, through the real daemon and run worker."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from cli_helpers import Cli

from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import RunningService, running_in_thread

pytestmark = pytest.mark.slow

# Both jobs of the run cancelled, and no other job made.
ALL_CANCELLED = {
    "queued": 0, "processing": 0, "succeeded": 0, "failed": 0, "cancelled": 2, "total": 2
}  # fmt: skip


@pytest.fixture
def hanging_service(tmp_path: Path) -> Iterator[RunningService]:
    """A simulate service whose jobs never finish, as a stuck remote job would."""
    config = ServiceConfig(port=0, data_dir=tmp_path / "ittybit", engine="simulate", hang_rate=1.0)
    with running_in_thread(config) as service:
        yield service


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def jobs_by_status(base_url: str) -> dict[str, Any]:
    """The service's own job counts by status (and total)."""
    counts: dict[str, Any] = httpx.get(f"{base_url}/_local/stats", timeout=10).json()["jobs"]
    return counts


def test_terminating_a_run_cancels_its_remote_jobs(
    tmp_path: Path, hanging_service: RunningService
) -> None:
    """A run terminated while its jobs are in flight cancels each of them on the service."""
    cli = Cli(tmp_path)
    cli.env["ITTYBIT_BASE_URL"] = hanging_service.base_url
    library = tmp_path / "library.jsonl"
    library.write_text(
        "".join(json.dumps({"url": f"https://media.invalid/stuck-{n}.mp4"}) + "\n" for n in (1, 2))
    )
    base_url = hanging_service.base_url
    process = cli.start("run", str(library))
    try:
        wait_for(lambda: jobs_by_status(base_url).get("processing") == 2, 120, "2 jobs")
        with dg.DagsterInstance.from_config(str(cli.home / "dagster_home")) as instance:
            started = instance.get_runs(
                filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
            )
            assert len(started) == 1
            run_id = started[0].run_id
            instance.run_coordinator.cancel_run(run_id)
            wait_for(lambda: jobs_by_status(base_url) == ALL_CANCELLED, 60, "cancelled jobs")

            def run_ended() -> bool:
                run = instance.get_run_by_id(run_id)
                return run is not None and run.status == dg.DagsterRunStatus.CANCELED

            wait_for(run_ended, 60, "the run to end cancelled")
    finally:
        if process.poll() is None:
            cli.stop(process)
