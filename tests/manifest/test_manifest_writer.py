"""Writing the DuckDB manifest: rows, views and the atomic replace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from media_assets.manifest import schema, writer
from media_assets.manifest.schema import MANIFEST_COLUMNS
from media_assets.manifest.writer import write_manifest
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

# The brief's contract: these columns, in this order, first.
CONTRACT_COLUMNS = (
    "partition_key",
    "source_uri",
    "stage",
    "status",
    "job_id",
    "output_url",
    "kind",
    "format",
    "width",
    "height",
    "duration_s",
    "filesize",
    "processing_ms",
    "attempts",
    "error_kind",
    "error_message",
    "created_at",
    "completed_at",
    "cached",
    "check_status",
    "check_message",
)

STAGES = list(ALL_STAGES)  # the contract's four


def result(key: str, stage: Stage, status: ResultStatus, **values: object) -> MediaResult:
    return MediaResult(
        partition_key=key,
        source_uri=f"file:///library/{key}",
        stage=stage,
        status=status,
        **values,  # type: ignore[arg-type]
    )


def library() -> list[MediaResult]:
    """A video that worked, an audio file (two stages not applicable), a broken file."""
    video = [
        result("video", stage, ResultStatus.SUCCEEDED, kind=kind, processing_ms=ms)
        for stage, kind, ms in zip(
            STAGES, ["video", "image", "audio", "video"], [4000, 1000, 2000, 6000], strict=True
        )
    ]
    audio = [
        result("song", Stage.INGESTED, ResultStatus.SUCCEEDED, kind="video", processing_ms=2000),
        result("song", Stage.THUMBNAIL, ResultStatus.NOT_APPLICABLE),
        result("song", Stage.AUDIO, ResultStatus.SUCCEEDED, kind="audio", processing_ms=1000),
        result("song", Stage.TRANSCODED, ResultStatus.NOT_APPLICABLE),
    ]
    broken = [
        result(
            "broken",
            Stage.INGESTED,
            ResultStatus.FAILED,
            error_kind="probe",
            error_message="no streams",
        ),
        *(result("broken", stage, ResultStatus.PENDING) for stage in STAGES[1:]),
    ]
    return [*video, *audio, *broken]


def fetch(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_rows_match_results(tmp_path: Path) -> None:
    """Every result becomes one row, values in the contract's columns."""
    path = tmp_path / "manifest.duckdb"
    summary = write_manifest(path, library())
    assert (summary.rows, summary.files) == (12, 3)
    rows = fetch(
        path, "SELECT partition_key, stage, status, kind, processing_ms FROM media_results"
    )
    assert len(rows) == 12
    assert ("video", "transcoded", "succeeded", "video", 6000) in rows
    assert ("song", "thumbnail", "not_applicable", None, None) in rows


def test_table_columns_follow_the_contract(tmp_path: Path) -> None:
    """media_results has the contract's columns in order, then the added ones after them."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, [])
    columns = fetch(
        path,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'media_results' ORDER BY ordinal_position",
    )
    assert tuple(name for (name,) in columns) == MANIFEST_COLUMNS
    assert MANIFEST_COLUMNS[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert MANIFEST_COLUMNS[len(CONTRACT_COLUMNS) :] == ("output_path", "delivered_to")


def test_all_fields_round_trip(tmp_path: Path) -> None:
    """Every field of a fully filled result is stored, timestamps as UTC TIMESTAMPs."""
    path = tmp_path / "manifest.duckdb"
    full = result(
        "clip",
        Stage.TRANSCODED,
        ResultStatus.SUCCEEDED,
        job_id="job_1",
        output_url="http://local/out/1.mp4",
        kind="video",
        format="mp4",
        width=1280,
        height=720,
        duration_s=12.5,
        filesize=1_234_567_890_123,
        processing_ms=4321,
        attempts=2,
        created_at=1_700_000_000_123,
        completed_at=1_700_000_004_444,
        cached=True,
        check_status="failed",
        check_message="lasts 9.00 s, the source 12.50 s",
        output_path="/outputs/transcoded/clip/clip.mp4",
        delivered_to="s3://deliveries/library/clip/transcoded.mp4",
    )
    write_manifest(path, [full])
    [row] = fetch(path, "SELECT * FROM media_results")
    assert row == (
        "clip",
        "file:///library/clip",
        "transcoded",
        "succeeded",
        "job_1",
        "http://local/out/1.mp4",
        "video",
        "mp4",
        1280,
        720,
        12.5,
        1_234_567_890_123,
        4321,
        2,
        None,
        None,
        datetime(2023, 11, 14, 22, 13, 20, 123000),
        datetime(2023, 11, 14, 22, 13, 24, 444000),
        True,
        "failed",
        "lasts 9.00 s, the source 12.50 s",
        "/outputs/transcoded/clip/clip.mp4",
        "s3://deliveries/library/clip/transcoded.mp4",
    )


def test_awkward_text_round_trips(tmp_path: Path) -> None:
    """Quotes, commas, newlines and non-ASCII text survive the bulk load."""
    message = 'ffmpeg said "no",\nthen:\r\n\t\\ café 動画 '
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, [result("x", Stage.INGESTED, ResultStatus.FAILED, error_message=message)])
    assert fetch(path, "SELECT error_message FROM media_results") == [(message,)]


def test_later_result_replaces_earlier(tmp_path: Path) -> None:
    """For the same file and stage the last result given wins."""
    path = tmp_path / "manifest.duckdb"
    summary = write_manifest(
        path,
        [
            result("clip", Stage.INGESTED, ResultStatus.FAILED),
            result("clip", Stage.INGESTED, ResultStatus.SUCCEEDED),
        ],
    )
    assert summary.rows == 1
    assert fetch(path, "SELECT status FROM media_results") == [("succeeded",)]


def test_batch_summary_counts(tmp_path: Path) -> None:
    """batch_summary counts each status per stage, then overall."""
    summary = write_manifest(tmp_path / "manifest.duckdb", library())
    by_stage = {
        row["stage"]: (
            row["total"],
            row["succeeded"],
            row["failed"],
            row["not_applicable"],
            row["pending"],
        )
        for row in summary.summary
    }
    assert [row["stage"] for row in summary.summary] == [*(s.value for s in STAGES), "all"]
    assert by_stage == {
        "ingested": (3, 2, 1, 0, 0),
        "thumbnail": (3, 1, 0, 1, 1),
        "audio": (3, 2, 0, 0, 1),
        "transcoded": (3, 1, 0, 1, 1),
        "all": (12, 6, 1, 2, 3),
    }


def test_empty_manifest_has_a_zero_overall_row(tmp_path: Path) -> None:
    """With no results the table is empty and the overall row reads zero."""
    summary = write_manifest(tmp_path / "manifest.duckdb", [])
    assert summary.summary == [
        {"stage": "all", "total": 0, "succeeded": 0, "failed": 0, "not_applicable": 0, "pending": 0}
    ]


def test_completion_rate(tmp_path: Path) -> None:
    """completion_rate counts succeeded and not-applicable as done: a failed file is not done."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, library())
    rows = fetch(
        path,
        "SELECT stage, total, done, failed, pending, percent, succeeded_percent"
        " FROM completion_rate",
    )
    assert rows[0] == ("ingested", 3, 2, 1, 0, pytest.approx(66.7), pytest.approx(66.7))
    assert rows[1] == ("thumbnail", 3, 2, 0, 1, pytest.approx(66.7), 50.0)
    assert rows[-1] == ("all", 12, 8, 1, 3, pytest.approx(66.7), 60.0)


def test_percentiles_are_rounded_to_a_tenth(tmp_path: Path) -> None:
    """p50_ms and p95_ms read 2481.8, not 2481.7999999999997."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(
        path,
        [
            result(key, Stage.THUMBNAIL, ResultStatus.SUCCEEDED, kind="image", processing_ms=ms)
            for key, ms in (("a", 410), ("b", 388), ("c", 2712))
        ],
    )
    assert fetch(path, "SELECT p50_ms, p95_ms FROM avg_processing_time_by_kind") == [
        (410.0, 2481.8)
    ]


def test_avg_processing_time_by_kind(tmp_path: Path) -> None:
    """avg_processing_time_by_kind averages succeeded results per kind and stage."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, library())
    rows = fetch(
        path,
        "SELECT kind, stage, results, avg_ms, p50_ms, avg_seconds FROM avg_processing_time_by_kind",
    )
    assert rows == [
        ("audio", "audio", 2, 1500.0, 1500.0, 1.5),
        ("image", "thumbnail", 1, 1000.0, 1000.0, 1.0),
        ("video", "ingested", 2, 3000.0, 3000.0, 3.0),
        ("video", "transcoded", 1, 6000.0, 6000.0, 6.0),
    ]


def test_rewrite_replaces_atomically(tmp_path: Path) -> None:
    """A reader holding the old file keeps reading it; new readers see the new file."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, library())
    with duckdb.connect(str(path), read_only=True) as reader:
        write_manifest(path, library()[:4])
        assert reader.execute("SELECT count(*) FROM media_results").fetchone() == (12,)
    assert fetch(path, "SELECT count(*) FROM media_results") == [(4,)]


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    """Only the manifest remains in its folder after a write, even over a stale WAL."""
    path = tmp_path / "manifest.duckdb"
    path.with_name("manifest.duckdb.wal").write_bytes(b"stale")
    write_manifest(path, library())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.duckdb"]


def test_failed_write_keeps_the_old_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If building the new file fails, the previous manifest stays and no temp file is left."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(path, library())
    monkeypatch.setattr(writer, "DDL", (*schema.DDL, "CREATE VIEW broken AS SELECT * FROM nowhere"))
    with pytest.raises(duckdb.Error):
        write_manifest(path, library()[:4])
    assert fetch(path, "SELECT count(*) FROM media_results") == [(12,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.duckdb"]
