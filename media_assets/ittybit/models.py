"""Pydantic models of the Ittybit jobs API (the current generation, Unix-millisecond timestamps).

Every model tolerates unknown fields: the hosted API adds fields over time and the client must keep
working when it does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class JobKind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    IMAGE = "image"
    ANIMATION = "animation"
    ADAPTIVE_VIDEO = "adaptive_video"


class JobStatus(StrEnum):
    """Statuses of jobs and tasks, including the older spellings the API has used."""

    WAITING = "waiting"
    VALIDATING = "validating"
    QUEUED = "queued"
    PROCESSING = "processing"
    FINISHING = "finishing"
    SUCCEEDED = "succeeded"
    COMPLETED = "completed"  # an older guide's word for succeeded
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.COMPLETED)


_TERMINAL = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ErrorBody(_Model):
    """Ittybit's error shape: ``{"kind": "invalid_input", "message": "..."}``."""

    kind: str = "unknown_error"
    message: str = ""


class File(_Model):
    """A probed media file (the output of a probe task, or of an encode task)."""

    object: str = "file"
    url: str | None = None
    kind: str | None = None  # video | audio | image
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    codecs: dict[str, str | None] = Field(default_factory=dict)
    filesize: int | None = None
    fps: float | None = None
    bitrate: int | None = None
    rotation: int | None = None
    orientation: str | None = None
    animated: bool | None = None
    transparency: bool | None = None
    has_video: bool | None = None
    has_audio: bool | None = None


def _error_from(value: Any) -> ErrorBody | None:
    # Older API generations and some proxies send the error as a bare string.
    if value is None:
        return None
    if isinstance(value, ErrorBody):
        return value
    if isinstance(value, str):
        return ErrorBody(kind="job_failed", message=value)
    if isinstance(value, dict):
        return ErrorBody.model_validate(value)
    return ErrorBody(kind="job_failed", message=str(value))


class Task(_Model):
    id: str
    object: str = "task"
    kind: str
    status: JobStatus
    input: dict[str, Any] | str | None = None
    output: File | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    progress: int | None = None
    error: ErrorBody | None = None
    created_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _error_body(cls, value: Any) -> ErrorBody | None:
        return _error_from(value)


class Job(_Model):
    id: str
    object: str = "job"
    kind: JobKind | str
    status: JobStatus
    input: str
    output: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tasks: list[Task] = Field(default_factory=list)
    progress: int | None = None
    error: ErrorBody | None = None
    created_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _error_body(cls, value: Any) -> ErrorBody | None:
        return _error_from(value)

    @property
    def output_file(self) -> File | None:
        """The File the last encode task produced, when the service reports one."""
        for task in reversed(self.tasks):
            if task.kind not in ("probe", "import", "export") and task.output is not None:
                return task.output
        return None

    @property
    def input_file(self) -> File | None:
        """The probe of the input (its media facts), when the service reports one.

        A job's probe task runs first, so it often has its output even when a later task
        failed: a job of the wrong kind for its input still says what the input is.
        """
        for task in self.tasks:
            if task.kind == "probe" and task.output is not None:
                return task.output
        return None

    @property
    def exported_file(self) -> File | None:
        """What the export task delivered (its ``url`` the destination), when reported."""
        for task in self.tasks:
            if task.kind == "export" and task.output is not None:
                return task.output
        return None

    @property
    def running_task(self) -> Task | None:
        """The task being processed now, if the service says."""
        for task in self.tasks:
            if task.status == JobStatus.PROCESSING:
                return task
        return None

    @property
    def processing_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0, self.finished_at - self.started_at)
