"""Faults slow the work down; they never lose a file, pay twice, or exit 0 on unfinished work.

Each scenario runs the real command against a faulty local service (see ``scenarios.py``) and
checks the same four things: files lost 0, duplicate remote jobs 0, the exit code the contract
gives, and no process left behind. Some check a little more about their own fault.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_bench import Outcome
from scenarios import (
    command_killed_then_rerun,
    command_terminated,
    daemon_killed,
    disk_full_then_redrive,
    failed_jobs_then_redrive,
    file_still_being_written,
    hung_jobs_with_deadlines,
    rate_limit_storm,
    run_worker_killed,
    server_error_burst,
    service_outage,
)

pytestmark = pytest.mark.slow


def assert_nothing_lost(outcome: Outcome, expected_exit: int) -> None:
    assert outcome.exit_code == expected_exit, outcome.describe()
    assert outcome.lost == [], outcome.describe()
    assert outcome.duplicates == 0, outcome.describe()
    assert outcome.leftovers == [], outcome.describe()


def test_rate_limit_storm_slows_down_without_failing(tmp_path: Path) -> None:
    """Under a 429 storm every file still succeeds, Retry-After obeyed, no job made twice."""
    outcome = rate_limit_storm(tmp_path)
    assert_nothing_lost(outcome, 0)
    assert outcome.statuses["succeeded"] == outcome.files * 4


def test_server_error_burst_is_absorbed(tmp_path: Path) -> None:
    """With 30% of requests answered 5xx every file succeeds and no job is made twice."""
    outcome = server_error_burst(tmp_path)
    assert_nothing_lost(outcome, 0)
    assert outcome.statuses["succeeded"] == outcome.files * 4


def test_failed_jobs_are_named_and_redriven_alone(tmp_path: Path) -> None:
    """Remotely failed files exit 1 by name; --failed-only then redoes only their stages."""
    outcome = failed_jobs_then_redrive(tmp_path)
    assert "broken-000.mp4" in outcome.stdout and "broken-001.mp4" in outcome.stdout
    assert_nothing_lost(outcome, 0)
    assert outcome.statuses["succeeded"] == outcome.files * 4


def test_hung_jobs_fail_at_their_deadline_naming_the_job(tmp_path: Path) -> None:
    """A job that never ends fails its stage at the deadline, with the job id, and exit 1."""
    outcome = hung_jobs_with_deadlines(tmp_path)
    assert_nothing_lost(outcome, 1)
    timed_out = [row for row in outcome.rows if row["error_kind"] == "deadline_exceeded"]
    assert timed_out, outcome.describe()
    assert all(row["job_id"] for row in timed_out), timed_out
    assert outcome.wall_s < 150, f"deadlines of 4 s took {outcome.wall_s:.0f}s"


def test_service_outage_of_twenty_seconds_loses_nothing(tmp_path: Path) -> None:
    """A service killed mid-batch and back 20 s later: every job is seen through, none redone."""
    outcome = service_outage(tmp_path)
    assert_nothing_lost(outcome, 0)
    assert outcome.statuses["succeeded"] == outcome.files * 4
    assert outcome.jobs == outcome.files * 4, "a job created before the outage was made again"


def test_killed_run_worker_is_retried_and_reattaches(tmp_path: Path) -> None:
    """A SIGKILLed run worker's run is retried; the retry re-attaches to its remote jobs."""
    outcome = run_worker_killed(tmp_path)
    assert "killed run workers: [" in outcome.stderr and "[]" not in outcome.stderr
    assert_nothing_lost(outcome, 0)
    assert outcome.jobs == outcome.files * 4


def test_killed_daemon_is_started_again(tmp_path: Path) -> None:
    """A SIGKILLed daemon is started again by the command, and the backfill completes."""
    outcome = daemon_killed(tmp_path)
    assert "starting it again" in outcome.stderr, outcome.describe()
    assert_nothing_lost(outcome, 0)


def test_terminated_command_cancels_and_stops_everything(tmp_path: Path) -> None:
    """SIGTERM: exit 143, remote jobs cancelled, nothing left running; run again, it finishes."""
    outcome = command_terminated(tmp_path)
    assert outcome.earlier_exits == [143], outcome.describe()
    assert "cancelled; run the same command again" in outcome.stderr, outcome.describe()
    assert "(cancelled on the service: 0)" not in outcome.stdout, outcome.describe()
    assert_nothing_lost(outcome, 0)


def test_killed_command_leaves_nothing_and_reruns_cleanly(tmp_path: Path) -> None:
    """SIGKILL: the command's helpers die with it; run again, it finishes without paying twice."""
    outcome = command_killed_then_rerun(tmp_path)
    assert_nothing_lost(outcome, 0)
    assert "left open by a media-assets command that was killed" in outcome.stderr


def test_full_disk_fails_naming_why_then_redrives(tmp_path: Path) -> None:
    """No space for outputs: stages fail saying so (exit 1); with space, --failed-only ends it."""
    outcome = disk_full_then_redrive(tmp_path)
    assert "No space left on device" in outcome.stdout, outcome.describe()
    assert_nothing_lost(outcome, 0)


def test_file_still_being_written_is_taken_whole(tmp_path: Path) -> None:
    """A growing file is processed only once it has settled, at its final size."""
    outcome = file_still_being_written(tmp_path)
    assert_nothing_lost(outcome, 0)
    assert "(registered 12288 of 12288 bytes)" in outcome.stderr, outcome.describe()
