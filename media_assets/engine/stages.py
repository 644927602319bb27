"""The stages, their default Ittybit jobs, and which of them apply to which media.

Defaults: the ingested mezzanine is a high-quality mp4, and the three
deliverables are made from it. Audio-only and image sources get an ingested file of their own
kind, and the stages that cannot apply are recorded as not applicable, never as failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from media_assets.ittybit.models import File, JobKind
from media_assets.results import Stage

# Per stage: the job kind and default options.
DEFAULT_OPTIONS: Mapping[Stage, Mapping[str, Any]] = {
    Stage.INGESTED: {"format": "mp4", "quality": "high"},
    Stage.THUMBNAIL: {"format": "webp", "width": 640, "start": 2},
    Stage.AUDIO: {"format": "mp3", "quality": "high"},
    Stage.TRANSCODED: {"format": "mp4", "codec": "h264", "width": 1280, "quality": "medium"},
    # An HLS ladder topped at the source's size (never upscaled).
    Stage.ADAPTIVE_VIDEO: {"format": "hls", "quality": "medium"},
}

# The mezzanine for sources that are not video: lossless, so later stages lose nothing.
INGEST_BY_MEDIA_KIND: Mapping[str, tuple[JobKind, Mapping[str, Any]]] = {
    "video": (JobKind.VIDEO, DEFAULT_OPTIONS[Stage.INGESTED]),
    "audio": (JobKind.AUDIO, {"format": "flac"}),
    "image": (JobKind.IMAGE, {"format": "png"}),
}

STAGE_JOB_KIND: Mapping[Stage, JobKind] = {
    Stage.THUMBNAIL: JobKind.IMAGE,
    Stage.AUDIO: JobKind.AUDIO,
    Stage.TRANSCODED: JobKind.VIDEO,
    Stage.ADAPTIVE_VIDEO: JobKind.ADAPTIVE_VIDEO,
}


@dataclass(frozen=True, kw_only=True)
class MediaFacts:
    """What the probe of a source says, reduced to what decides the stages."""

    kind: str  # video | audio | image
    has_audio: bool
    has_video: bool

    @classmethod
    def from_probe(cls, probe: File) -> MediaFacts:
        kind = probe.kind or ("audio" if probe.codecs.get("audio") else "video")
        has_audio = bool(
            probe.has_audio if probe.has_audio is not None else probe.codecs.get("audio")
        )
        has_video = bool(
            probe.has_video if probe.has_video is not None else kind in ("video", "image")
        )
        return cls(kind=kind, has_audio=has_audio, has_video=has_video)

    def to_metadata(self) -> dict[str, Any]:
        return {"media_kind": self.kind, "has_audio": self.has_audio, "has_video": self.has_video}

    @classmethod
    def from_metadata(cls, values: Mapping[str, Any]) -> MediaFacts | None:
        if "media_kind" not in values:
            return None
        return cls(
            kind=str(values["media_kind"]),
            has_audio=bool(values.get("has_audio")),
            has_video=bool(values.get("has_video")),
        )


def not_applicable_reason(stage: Stage, facts: MediaFacts) -> str | None:
    """Why ``stage`` does not apply to this media, or None when it does."""
    if stage == Stage.INGESTED:
        return None
    if facts.kind == "audio" and stage in (
        Stage.THUMBNAIL,
        Stage.TRANSCODED,
        Stage.ADAPTIVE_VIDEO,
    ):
        return "audio-only source has no picture"
    if facts.kind == "image" and stage in (Stage.AUDIO, Stage.TRANSCODED, Stage.ADAPTIVE_VIDEO):
        return "still image has no audio or motion"
    if stage == Stage.AUDIO and not facts.has_audio:
        return "source has no audio stream"
    return None


@dataclass(frozen=True, kw_only=True)
class StageJob:
    """The Ittybit job one stage runs for one file."""

    stage: Stage
    kind: JobKind
    options: Mapping[str, Any]
    output: str | None = None  # the s3:// destination the job delivers to, if any


_EXTENSIONS = {"jpeg": "jpg"}


def delivered(job: StageJob, base_uri: str | None, partition_key: str) -> StageJob:
    """``job`` delivering to ``<base_uri>/<partition key>/<stage>.<ext>``; as is without a base.

    The file's key keeps each file's outputs together and apart from every other file's. An HLS
    ladder is a master playlist with rendition folders beside it, so it gets a folder of its
    own: ``<base_uri>/<partition key>/<stage>/master.m3u8``.
    """
    if not base_uri:
        return job
    fmt = str(job.options.get("format") or "")
    if fmt == "hls":
        return replace(job, output=f"{base_uri}/{partition_key}/{job.stage}/master.m3u8")
    extension = _EXTENSIONS.get(fmt, fmt) or "bin"
    return replace(job, output=f"{base_uri}/{partition_key}/{job.stage}.{extension}")


def stage_job(
    stage: Stage, facts: MediaFacts, overrides: Mapping[str, Any] | None = None
) -> StageJob:
    """The job for ``stage`` on media like ``facts``, with per-file or per-run ``overrides``."""
    if stage == Stage.INGESTED:
        return ingest_job(facts.kind, overrides)
    kind, defaults = STAGE_JOB_KIND[stage], DEFAULT_OPTIONS[stage]
    return StageJob(stage=stage, kind=kind, options={**defaults, **(overrides or {})})


def ingest_job(media_kind: str, overrides: Mapping[str, Any] | None = None) -> StageJob:
    """The ingest job for media of ``media_kind`` (known, or only guessed before probing)."""
    kind, defaults = INGEST_BY_MEDIA_KIND.get(media_kind, INGEST_BY_MEDIA_KIND["video"])
    return StageJob(stage=Stage.INGESTED, kind=kind, options={**defaults, **(overrides or {})})
