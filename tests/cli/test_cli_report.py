"""The summary `media-assets run` prints, from a manifest written by the real writer."""

import io
from pathlib import Path

import dagster as dg

from media_assets.cli.report import print_summary
from media_assets.manifest.writer import write_manifest
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

BROKEN = "broken.mp4-0000abcd"


def failed(stage: Stage, kind: str, message: str, key: str = BROKEN) -> MediaResult:
    return MediaResult(
        partition_key=key,
        source_uri=f"file:///library/{key.split('-')[0]}",
        stage=stage,
        status=ResultStatus.FAILED,
        error_kind=kind,
        error_message=message,
    )


def result(key: str, status: ResultStatus) -> list[MediaResult]:
    return [
        MediaResult(
            partition_key=key,
            source_uri=f"file:///library/{key.split('-')[0]}",
            stage=stage,
            status=status,
        )
        for stage in ALL_STAGES
    ]


def summarize(path: Path, keys: list[str]) -> tuple[int, str]:
    stream = io.StringIO()
    with dg.instance_for_test() as instance:
        count = print_summary(instance, path, keys, stream=stream)
    return count, stream.getvalue()


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
    count, output = summarize(path, [BROKEN])
    assert count == 1
    report = output.split("1 file(s) failed:\n", 1)[1]
    assert f"    ingested: invalid_input: {cause}\n" in report
    assert "upstream_failed" not in report


def test_only_the_given_files_are_reported(tmp_path: Path) -> None:
    """A failure of a file from an earlier library is neither counted nor listed."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(
        path,
        [
            failed(Stage.INGESTED, "invalid_input", "empty", key="old.mp4-00000001"),
            *result("new.mp4-00000002", ResultStatus.SUCCEEDED),
        ],
    )
    count, output = summarize(path, ["new.mp4-00000002"])
    assert count == 0
    assert "old.mp4" not in output
    assert "failed:" not in output
    totals = [line.split() for line in output.splitlines() if line.startswith("all")]
    assert totals == [["all", "4", "4", "0", "0", "0"]]


def test_pending_file_counts_as_unfinished(tmp_path: Path) -> None:
    """A file without results is listed as not processed and counted as unfinished."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, result("lost.mp4-00000003", ResultStatus.PENDING))
    count, output = summarize(path, ["lost.mp4-00000003"])
    assert count == 1
    assert "1 file(s) not processed:" in output
    assert "file:///library/lost.mp4 [lost.mp4-00000003]" in output
