"""The job and task documents, exactly as the API returns them, and their state transitions.

A job runs Ittybit's four tasks in order: ``probe`` (reads the input), ``import`` (takes a copy
to work on), the encode task (its kind is the job's kind) and ``export`` (stores the result: in
the service's own storage, and at the job's ``output`` destination when it names one). Every
transition stamps ``updated_at``; timestamps are Unix milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ids import new_id, now_ms

Json = dict[str, Any]

JOB_KINDS = ("video", "audio", "image", "animation", "adaptive_video")
JOB_STATUSES = ("queued", "processing", "succeeded", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
PROBE_TASK, IMPORT_TASK, ENCODE_TASK, EXPORT_TASK = 0, 1, 2, 3


def external_file(url: str) -> Json:
    """How Ittybit writes a URL it has not processed yet."""
    return {"object": "external_file", "url": url}


def new_task(kind: str, task_input: Json | None, options: Mapping[str, Any], status: str) -> Json:
    created = now_ms()
    return {
        "id": new_id("task"),
        "object": "task",
        "kind": kind,
        "input": task_input,
        "options": dict(options),
        "output": None,
        "status": status,
        "progress": None,
        "error": None,
        "created_at": created,
        "started_at": None,
        "finished_at": None,
        "updated_at": created,
    }


def new_job(
    *,
    kind: str,
    input_url: str,
    options: Mapping[str, Any],
    metadata: Mapping[str, Any],
    output: str | None = None,
) -> Json:
    """A queued job; ``output`` is the ``s3://`` destination its export task delivers to."""
    created = now_ms()
    return {
        "id": new_id("job"),
        "object": "job",
        "kind": kind,
        "input": input_url,
        "output": None,
        "options": dict(options),
        "metadata": dict(metadata),
        "status": "queued",
        "progress": None,
        "error": None,
        "tasks": [
            new_task("probe", external_file(input_url), {}, "queued"),
            new_task("import", external_file(input_url), {}, "queued"),
            new_task(kind, external_file(input_url), options, "queued"),
            # Export's options are Ittybit's: {"url": "s3://bucket/key"} for a delivery.
            new_task("export", None, {"url": output} if output else {}, "queued"),
        ],
        "created_at": created,
        "started_at": None,
        "finished_at": None,
        "updated_at": created,
    }


def export_destination(job: Mapping[str, Any]) -> str | None:
    """Where the job delivers its output beyond the service's own storage, if anywhere."""
    url = job["tasks"][EXPORT_TASK]["options"].get("url")
    return str(url) if url else None


def is_terminal(job: Mapping[str, Any]) -> bool:
    return job["status"] in TERMINAL_STATUSES


def start_job(job: Json) -> None:
    stamp = now_ms()
    job.update(status="processing", progress=0, started_at=stamp, updated_at=stamp)


def start_task(job: Json, index: int, task_input: Json | None = None) -> None:
    stamp = now_ms()
    task = job["tasks"][index]
    task.update(status="processing", progress=0, started_at=stamp, updated_at=stamp)
    if task_input is not None:
        task["input"] = task_input
    job["updated_at"] = stamp


def finish_task(job: Json, index: int, output: Json) -> None:
    stamp = now_ms()
    job["tasks"][index].update(
        status="succeeded", progress=100, output=output, finished_at=stamp, updated_at=stamp
    )
    job["updated_at"] = stamp


def set_progress(job: Json, percent: int) -> bool:
    """Record encode progress; returns False when nothing changed (so nothing needs saving)."""
    # 100 is reserved for a finished job, so a job at 100 is always a succeeded one.
    percent = max(0, min(99, int(percent)))
    if job["status"] != "processing" or job["progress"] == percent:
        return False
    stamp = now_ms()
    job.update(progress=percent, updated_at=stamp)
    job["tasks"][ENCODE_TASK].update(progress=percent, updated_at=stamp)
    return True


def succeed_job(job: Json, output_url: str) -> None:
    stamp = now_ms()
    job.update(
        status="succeeded", output=output_url, progress=100, finished_at=stamp, updated_at=stamp
    )


def fail_job(job: Json, error: Json) -> None:
    """The running task fails with ``error``; tasks that never ran are cancelled."""
    _finish_unfinished_tasks(job, "failed", error)
    stamp = now_ms()
    job.update(status="failed", error=error, finished_at=stamp, updated_at=stamp)


def cancel_job(job: Json) -> None:
    _finish_unfinished_tasks(job, "cancelled", None)
    stamp = now_ms()
    job.update(status="cancelled", finished_at=stamp, updated_at=stamp)


def requeue_job(job: Json) -> None:
    """Put an interrupted job back to its just-created state so it can run again."""
    stamp = now_ms()
    job.update(status="queued", progress=None, started_at=None, updated_at=stamp)
    for index, task in enumerate(job["tasks"]):
        task.update(
            status="queued",
            progress=None,
            output=None,
            error=None,
            started_at=None,
            finished_at=None,
            updated_at=stamp,
        )
        task["input"] = None if index == EXPORT_TASK else external_file(job["input"])


def _finish_unfinished_tasks(job: Json, status: str, error: Json | None) -> None:
    stamp = now_ms()
    pending = [task for task in job["tasks"] if task["status"] not in TERMINAL_STATUSES]
    running = [task for task in pending if task["status"] == "processing"]
    # The task that was running takes the blame; if none had started, the first one does.
    candidates = running or pending
    culprit_id = candidates[0]["id"] if candidates else None
    for task in pending:
        if task["id"] == culprit_id:
            task.update(status=status, error=error, finished_at=stamp, updated_at=stamp)
        else:
            task.update(status="cancelled", finished_at=stamp, updated_at=stamp)
