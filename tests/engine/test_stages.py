"""Which stages apply to which media, and what job each stage runs."""

import pytest

from media_assets.engine.stages import MediaFacts, delivered, not_applicable_reason, stage_job
from media_assets.ittybit import File, JobKind
from media_assets.results import Stage

VIDEO = MediaFacts(kind="video", has_audio=True, has_video=True)
SILENT = MediaFacts(kind="video", has_audio=False, has_video=True)
AUDIO = MediaFacts(kind="audio", has_audio=True, has_video=False)
IMAGE = MediaFacts(kind="image", has_audio=False, has_video=True)


@pytest.mark.parametrize(
    ("facts", "not_applicable"),
    [
        (VIDEO, set()),
        (SILENT, {Stage.AUDIO}),
        (AUDIO, {Stage.THUMBNAIL, Stage.TRANSCODED, Stage.ADAPTIVE_VIDEO}),
        (IMAGE, {Stage.AUDIO, Stage.TRANSCODED, Stage.ADAPTIVE_VIDEO}),
    ],
)
def test_not_applicable_stages(facts: MediaFacts, not_applicable: set[Stage]) -> None:
    """Audio-only, image and silent sources skip exactly the stages they cannot feed."""
    skipped = {stage for stage in Stage if not_applicable_reason(stage, facts)}
    assert skipped == not_applicable


def test_ingest_job_follows_the_media_kind() -> None:
    """Ingest makes a video mezzanine of video, a lossless file of audio and images."""
    assert stage_job(Stage.INGESTED, VIDEO).kind == JobKind.VIDEO
    assert stage_job(Stage.INGESTED, AUDIO).options == {"format": "flac"}
    assert stage_job(Stage.INGESTED, IMAGE).kind == JobKind.IMAGE


def test_overrides_replace_defaults_key_by_key() -> None:
    """Per-file options override the stage defaults without dropping the others."""
    job = stage_job(Stage.TRANSCODED, VIDEO, {"width": 720})
    assert job.options == {"format": "mp4", "codec": "h264", "width": 720, "quality": "medium"}


def test_facts_from_a_probe_with_cover_art() -> None:
    """An audio probe whose codecs list a picture is still audio with audio."""
    facts = MediaFacts.from_probe(
        File(kind="audio", codecs={"audio": "mp3", "video": "mjpeg"}, has_audio=True)
    )
    assert (facts.kind, facts.has_audio, facts.has_video) == ("audio", True, False)


def test_adaptive_video_is_an_hls_job() -> None:
    """The optional adaptive_video stage runs an adaptive_video job in HLS."""
    job = stage_job(Stage.ADAPTIVE_VIDEO, VIDEO)
    assert (job.kind, job.options["format"]) == (JobKind.ADAPTIVE_VIDEO, "hls")


def test_delivery_destinations_name_the_file_and_stage() -> None:
    """Outputs go to <base>/<key>/<stage>.<ext>; an HLS ladder to a folder of its own."""
    base = "s3://deliveries/library"
    thumbnail = delivered(stage_job(Stage.THUMBNAIL, VIDEO), base, "clip.mp4-1a2b3c4d")
    ladder = delivered(stage_job(Stage.ADAPTIVE_VIDEO, VIDEO), base, "clip.mp4-1a2b3c4d")
    assert thumbnail.output == f"{base}/clip.mp4-1a2b3c4d/thumbnail.webp"
    assert ladder.output == f"{base}/clip.mp4-1a2b3c4d/adaptive_video/master.m3u8"
    assert delivered(stage_job(Stage.THUMBNAIL, VIDEO), None, "k").output is None


def test_source_probe_facts_round_trip_through_metadata() -> None:
    """Container, codecs, fps, bitrate, duration, size and rotation survive the event log."""
    facts = MediaFacts.from_probe(
        File(
            kind="video",
            format="mov",
            codecs={"video": "h264", "audio": "aac"},
            fps=29.97,
            bitrate=4_000_000,
            duration=12.5,
            width=1080,
            height=1920,
            rotation=90,
            has_audio=True,
            has_video=True,
        )
    )
    values = facts.to_metadata()
    assert values["source_container"] == "mov"
    assert (values["source_video_codec"], values["source_audio_codec"]) == ("h264", "aac")
    assert (values["source_fps"], values["source_rotation"]) == (29.97, 90)
    assert MediaFacts.from_metadata(values) == facts
