"""The summary `media-assets run` prints, from a manifest written by the real writer."""

import io
from pathlib import Path

import dagster as dg

from media_assets.cli.report import print_summary
from media_assets.manifest.writer import write_manifest
from media_assets.results import MediaResult, ResultStatus, Stage


def failed(stage: Stage, kind: str, message: str) -> MediaResult:
    return MediaResult(
        partition_key="broken.mp4-0000abcd",
        source_uri="file:///library/broken.mp4",
        stage=stage,
        status=ResultStatus.FAILED,
        error_kind=kind,
        error_message=message,
    )


def test_failed_file_is_reported_with_its_first_failed_stage(tmp_path: Path) -> None:
    """A failed file is reported by its root cause (ingested), not a downstream stage."""
    path = tmp_path / "manifest.duckdb"
    cause = "broken.mp4: file is empty (0 bytes)"
    write_manifest(
        path,
        [
            failed(Stage.INGESTED, "invalid_input", cause),
            # Alphabetically before "ingested": must not be taken for the cause.
            failed(Stage.AUDIO, "upstream_failed", f"ingested failed: {cause}"),
            failed(Stage.THUMBNAIL, "upstream_failed", f"ingested failed: {cause}"),
            failed(Stage.TRANSCODED, "upstream_failed", f"ingested failed: {cause}"),
        ],
    )
    stream = io.StringIO()
    with dg.instance_for_test() as instance:
        count = print_summary(instance, path, stream=stream)
    assert count == 1
    report = stream.getvalue().split("1 file(s) failed:\n", 1)[1]
    assert f"    ingested: invalid_input: {cause}\n" in report
    assert "upstream_failed" not in report


def test_files_not_given_are_left_out(tmp_path: Path) -> None:
    """Another library's failure in the same manifest neither shows nor counts."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, [failed(Stage.INGESTED, "invalid_input", "empty")])
    stream = io.StringIO()
    with dg.instance_for_test() as instance:
        count = print_summary(instance, path, keys=["mine.mp4-00000001"], stream=stream)
    assert count == 0
    assert "broken.mp4" not in stream.getvalue()
