"""Reading the manifest and rendering rows for the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from media_assets.manifest.queries import query, read_results, read_summary, render
from media_assets.manifest.writer import write_manifest
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.duckdb"
    results = [
        MediaResult(
            partition_key=key,
            source_uri=f"file:///library/{key}",
            stage=stage,
            status=ResultStatus.SUCCEEDED if key != "b" else ResultStatus.FAILED,
            processing_ms=1500,
            error_message="bad, file" if key == "b" else None,
            created_at=1_700_000_000_000,
        )
        for key in ("b", "a")
        for stage in reversed(ALL_STAGES)
    ]
    write_manifest(path, results)
    return path


def test_read_summary(manifest: Path) -> None:
    """read_summary returns batch_summary: four stages then the overall row."""
    rows = read_summary(manifest)
    assert [row["stage"] for row in rows] == ["ingested", "thumbnail", "audio", "transcoded", "all"]
    assert rows[-1] == {
        "stage": "all",
        "total": 8,
        "succeeded": 4,
        "failed": 4,
        "not_applicable": 0,
        "pending": 0,
    }


def test_read_results_are_ordered(manifest: Path) -> None:
    """read_results sorts by partition key, then pipeline stage order."""
    rows = read_results(manifest)
    assert [(row["partition_key"], row["stage"]) for row in rows][:5] == [
        ("a", "ingested"),
        ("a", "thumbnail"),
        ("a", "audio"),
        ("a", "transcoded"),
        ("b", "ingested"),
    ]
    assert rows[0]["created_at"] == datetime(2023, 11, 14, 22, 13, 20)


def test_connections_are_read_only(manifest: Path) -> None:
    """Queries cannot modify the manifest."""
    with pytest.raises(duckdb.Error):
        query(manifest, "DELETE FROM media_results")


def test_missing_manifest_is_reported(tmp_path: Path) -> None:
    """Reading a manifest that was never built says where it looked."""
    with pytest.raises(FileNotFoundError, match="no manifest at"):
        read_summary(tmp_path / "absent.duckdb")


def test_render_table(manifest: Path) -> None:
    """The table format aligns columns under a header and a rule, numbers to the right."""
    text = render(read_summary(manifest), "table")
    lines = text.splitlines()
    assert lines[0].split() == [
        "stage",
        "total",
        "succeeded",
        "failed",
        "not_applicable",
        "pending",
    ]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["ingested", "2", "1", "1", "0", "0"]
    assert lines[2].index("2") + 1 == lines[0].index("total") + len("total")


def test_render_json(manifest: Path) -> None:
    """The JSON format is an array of objects, timestamps in ISO 8601 UTC."""
    rows = json.loads(render(read_results(manifest), "json"))
    assert len(rows) == 8
    assert rows[0]["created_at"] == "2023-11-14T22:13:20.000Z"
    assert rows[0]["job_id"] is None and rows[0]["cached"] is False


def test_render_csv(manifest: Path) -> None:
    """The CSV format has a header line, quotes where needed and empty cells for NULL."""
    text = render(read_results(manifest), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8
    assert rows[4]["error_message"] == "bad, file"
    assert rows[0]["job_id"] == "" and rows[0]["cached"] == "false"


@pytest.mark.parametrize(("fmt", "expected"), [("table", "(no rows)"), ("json", "[]"), ("csv", "")])
def test_render_no_rows(fmt: str, expected: str) -> None:
    """Rendering nothing gives an explicit empty result in each format."""
    assert render([], fmt) == expected  # type: ignore[arg-type]


def test_render_rejects_unknown_format() -> None:
    """An unknown format is an error naming the valid ones."""
    with pytest.raises(ValueError, match="table, json, csv"):
        render([{"a": 1}], "xml")  # type: ignore[arg-type]


def test_read_summary_of_some_files(manifest: Path) -> None:
    """Given keys, the totals count those files only (a shared manifest holds others too)."""
    rows = read_summary(manifest, ["a", "not-in-manifest"])
    assert rows[-1]["total"] == 4
    assert rows[-1]["failed"] == 0
