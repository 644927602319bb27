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
    """What the probe of a source says: what decides the stages, and what a media engineer reads.

    ``kind``, ``has_audio`` and ``has_video`` decide which stages apply; the rest (container,
    codecs, frame rate, bitrate, duration, display size, rotation) describe the source in the
    event log and give the output checks their expectations. Any of those may be unknown.
    """

    kind: str  # video | audio | image
    has_audio: bool
    has_video: bool
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    fps: float | None = None
    bitrate: int | None = None
    duration_s: float | None = None
    width: int | None = None  # as displayed: rotation applied
    height: int | None = None
    rotation: int | None = None

    @classmethod
    def from_probe(cls, probe: File) -> MediaFacts:
        kind = probe.kind or ("audio" if probe.codecs.get("audio") else "video")
        has_audio = bool(
            probe.has_audio if probe.has_audio is not None else probe.codecs.get("audio")
        )
        has_video = bool(
            probe.has_video if probe.has_video is not None else kind in ("video", "image")
        )
        return cls(
            kind=kind,
            has_audio=has_audio,
            has_video=has_video,
            container=probe.format,
            video_codec=probe.codecs.get("video"),
            audio_codec=probe.codecs.get("audio"),
            fps=probe.fps,
            bitrate=probe.bitrate,
            duration_s=probe.duration,
            width=probe.width,
            height=probe.height,
            rotation=probe.rotation,
        )

    def to_metadata(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "media_kind": self.kind,
            "has_audio": self.has_audio,
            "has_video": self.has_video,
        }
        for name, key in _SOURCE_FACTS.items():
            value = getattr(self, name)
            if value is not None:
                values[key] = value
        return values

    @classmethod
    def from_metadata(cls, values: Mapping[str, Any]) -> MediaFacts | None:
        if "media_kind" not in values:
            return None
        known = {
            name: values[key] for name, key in _SOURCE_FACTS.items() if values.get(key) is not None
        }
        return cls(
            kind=str(values["media_kind"]),
            has_audio=bool(values.get("has_audio")),
            has_video=bool(values.get("has_video")),
            **known,
        )


# Source facts as they are named in the event log, beside the output's own facts.
_SOURCE_FACTS = {
    "container": "source_container",
    "video_codec": "source_video_codec",
    "audio_codec": "source_audio_codec",
    "fps": "source_fps",
    "bitrate": "source_bitrate",
    "duration_s": "source_duration_s",
    "width": "source_width",
    "height": "source_height",
    "rotation": "source_rotation",
}


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
