"""Parsing of jobs and tasks: the ``error`` field in the shapes the API has used."""

from __future__ import annotations

from typing import Any

from media_assets.ittybit import ErrorBody, Job, Task


def _job() -> dict[str, Any]:
    return {"id": "job_1", "kind": "video", "status": "failed", "input": "https://m.example/a.mp4"}


def test_a_string_error_becomes_an_error_body() -> None:
    """A bare error message (older SDKs) parses into ErrorBody with kind ``job_failed``."""
    job = Job.model_validate({**_job(), "error": "decoder gave up"})
    assert job.error == ErrorBody(kind="job_failed", message="decoder gave up")


def test_a_kind_and_message_error_is_kept() -> None:
    """The current ``{kind, message}`` error parses as it is."""
    job = Job.model_validate({**_job(), "error": {"kind": "invalid_input", "message": "no video"}})
    assert job.error == ErrorBody(kind="invalid_input", message="no video")


def test_a_task_error_inside_a_job_is_parsed_too() -> None:
    """A nested task's string error is converted like the job's own."""
    task = {"id": "task_1", "kind": "probe", "status": "failed", "error": "unreadable"}
    job = Job.model_validate({**_job(), "tasks": [task]})
    assert job.tasks[0].error == ErrorBody(kind="job_failed", message="unreadable")


def test_a_null_error_stays_none() -> None:
    """``error: null`` means no error."""
    task = Task.model_validate(
        {"id": "task_1", "kind": "probe", "status": "succeeded", "error": None}
    )
    assert task.error is None
