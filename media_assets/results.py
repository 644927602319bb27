"""The words every room shares: the four stages, a result's status, one stage's result for one file.

The engine produces ``MediaResult``s, the Dagster definitions record them as materialization (or
failure observation) metadata, and the manifest projects them into DuckDB. Plain Python values
only, so everything can depend on this module and it depends on nothing of the product.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    INGESTED = "ingested"
    THUMBNAIL = "thumbnail"
    AUDIO = "audio"
    TRANSCODED = "transcoded"
    ADAPTIVE_VIDEO = "adaptive_video"  # optional: only where the library turns it on


# The contract's four stages, always on, in pipeline order: ingested, then the three made from it.
ALL_STAGES: tuple[Stage, ...] = (Stage.INGESTED, Stage.THUMBNAIL, Stage.AUDIO, Stage.TRANSCODED)
DOWNSTREAM: tuple[Stage, ...] = (Stage.THUMBNAIL, Stage.AUDIO, Stage.TRANSCODED)
# Stages beyond the contract, made from ingested too. Off, they leave no trace: no asset, no
# manifest row.
OPTIONAL_STAGES: tuple[Stage, ...] = (Stage.ADAPTIVE_VIDEO,)


def pipeline_stages(*, adaptive_video: bool = False) -> tuple[Stage, ...]:
    """The stages a library runs: the contract's four, plus the optional ones turned on."""
    return (*ALL_STAGES, *((Stage.ADAPTIVE_VIDEO,) if adaptive_video else ()))


class ResultStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    PENDING = "pending"


@dataclass(frozen=True, kw_only=True)
class MediaResult:
    """The columns of ``media_results``, in contract order, then the product's own.

    ``check_status``/``check_message`` come from the output's asset check, which is evaluated
    after the result is recorded; the manifest joins them in.
    """

    partition_key: str
    source_uri: str
    stage: Stage
    status: ResultStatus
    job_id: str | None = None
    output_url: str | None = None
    kind: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    filesize: int | None = None
    processing_ms: int | None = None
    attempts: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    created_at: int | None = None  # Unix ms, when the remote job was created
    completed_at: int | None = None  # Unix ms, when it reached a terminal status
    cached: bool = False  # re-used an earlier result for the same source version and options
    # Columns beyond the contract's come after all of them, so its order never changes.
    check_status: str | None = None  # passed | failed | None (no check result)
    check_message: str | None = None  # why the check failed
    output_path: str | None = None  # the output file on this machine, when it is here
    delivered_to: str | None = None  # the s3:// destination the output was delivered to

    def to_metadata(self) -> dict[str, Any]:
        """Metadata values for the event log, without ``None`` (Dagster shows them as empty)."""
        values = dataclasses.asdict(self)
        values["stage"] = str(self.stage)
        values["status"] = str(self.status)
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def pending(cls, partition_key: str, source_uri: str, stage: Stage) -> MediaResult:
        """A stage of a file with no result recorded yet."""
        return cls(
            partition_key=partition_key,
            source_uri=source_uri,
            stage=stage,
            status=ResultStatus.PENDING,
        )

    @classmethod
    def from_metadata(cls, values: dict[str, Any]) -> MediaResult:
        """Inverse of ``to_metadata``; unknown keys (previews, links) are ignored."""
        kwargs = {name: values[name] for name in _FIELD_NAMES if name in values}
        kwargs["stage"] = Stage(kwargs["stage"])
        kwargs["status"] = ResultStatus(kwargs["status"])
        return cls(**kwargs)


_FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(MediaResult))
