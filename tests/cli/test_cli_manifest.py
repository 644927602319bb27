"""`media-assets manifest` and `media-assets query`: reading the manifest from a terminal."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_helpers import Cli

from media_assets.manifest.writer import write_manifest
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

README = Path(__file__).resolve().parents[2] / "README.md"
TERMINAL_FALLBACK_WIDTH = 120
LONG_MESSAGE = "ffmpeg said: " + "the input ends before the header says it does; " * 6


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A home holding a manifest of one good clip and one broken file, with long paths."""
    cli = Cli(tmp_path)
    outputs = cli.home / "outputs"
    key = "a-rather-long-file-name-from-a-camera-import-0001.mp4-1a2b3c4d"
    rows = [
        MediaResult(
            partition_key=key,
            source_uri=f"file:///media/library/2024/imports/camera/{key}",
            stage=stage,
            status=ResultStatus.SUCCEEDED,
            job_id="job_01m8see2pfpry05a8vt4f7ta2c",
            output_url=(outputs / stage / key / "clip.mp4").as_uri(),
            output_path=str(outputs / stage / key / "clip.mp4"),
            kind="video",
            format="mp4",
            width=1280,
            height=720,
            duration_s=12.48,
            processing_ms=1234,
            check_status="failed" if stage == Stage.THUMBNAIL else "passed",
            check_message="the picture is blank (one flat colour)"
            if stage == Stage.THUMBNAIL
            else None,
        )
        for stage in ALL_STAGES
    ]
    rows += [
        MediaResult(
            partition_key="broken.mp4-0000abcd",
            source_uri="file:///media/library/broken.mp4",
            stage=stage,
            status=ResultStatus.FAILED,
            error_kind="invalid_input",
            error_message=LONG_MESSAGE,
        )
        for stage in ALL_STAGES
    ]
    write_manifest(cli.home / "manifest.duckdb", rows, cursor=1)
    return cli


def test_the_manifest_table_fits_a_terminal(cli: Cli) -> None:
    """`manifest --format table` shows one line per file and stage, none wider than a terminal,
    each output by its name in the folder named above the table."""
    done = cli.run("manifest", "--format", "table")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"outputs under {cli.home / 'outputs'}/<stage>/<partition_key>/"
    assert max(len(line) for line in lines) <= TERMINAL_FALLBACK_WIDTH, done.stdout
    assert lines[1].split() == [
        "partition_key",
        "stage",
        "status",
        "size",
        "seconds",
        "check",
        "output",
        "note",
    ]
    assert len(lines) == 3 + 8  # outputs line, header, rule, one line per (file, stage)
    assert any("a-rather-long-file-name" in line and "clip.mp4" in line for line in lines), (
        done.stdout
    )
    assert any("ffmpeg said" in line and line.endswith("…") for line in lines)


def test_the_manifest_as_json_keeps_every_column(cli: Cli) -> None:
    """json (and csv) still carry every column in full."""
    done = cli.run("manifest", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert LONG_MESSAGE in done.stdout and '"check_status": "passed"' in done.stdout


def readme_queries() -> list[str]:
    """The SQL of every `media-assets query "..."` line in the README."""
    lines = [line.strip() for line in README.read_text().splitlines()]
    return [
        shlex.split(line)[2]
        for line in lines
        if re.match(r"^(\.venv/bin/)?media-assets query ", line)
    ]


def test_every_query_in_the_readme_runs(cli: Cli) -> None:
    """The README's SQL runs as written, through `media-assets query`, with no other tool."""
    queries = readme_queries()
    assert len(queries) >= 5, "the README shows how to query the manifest"
    for sql in queries:
        done = cli.run("query", sql)
        assert done.returncode == 0, f"{sql}\n{done.stderr}"
        assert done.stdout.strip() and "(no rows)" not in done.stdout, sql


def test_a_bad_query_is_a_usage_error(cli: Cli) -> None:
    """SQL the manifest cannot answer exits 2 and says why; writing is refused too."""
    done = cli.run("query", "SELECT nope FROM media_results")
    assert done.returncode == 2
    assert "nope" in done.stderr
    assert cli.run("query", "DELETE FROM media_results").returncode == 2
