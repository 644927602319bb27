"""Updating the manifest with what changed since it was last written, and knowing when not to."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from media_assets.manifest.writer import (
    CheckUpdate,
    manifest_lock,
    read_cursor,
    update_manifest,
    write_manifest,
)
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage


def result(key: str, stage: Stage, status: ResultStatus, **values: object) -> MediaResult:
    return MediaResult(
        partition_key=key,
        source_uri=f"file:///library/{key}",
        stage=stage,
        status=status,
        **values,  # type: ignore[arg-type]
    )


def rows(path: Path) -> dict[tuple[str, str], tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        found = conn.execute(
            "SELECT partition_key, stage, status, check_status, check_message, source_uri"
            " FROM media_results"
        ).fetchall()
    return {(row[0], row[1]): row[2:] for row in found}


def uris(keys: Sequence[str]) -> Mapping[str, str]:
    return {key: f"file:///new/{key}" for key in keys}


def built(tmp_path: Path) -> Path:
    """A manifest of one finished file 'a' whose outputs passed their checks, at cursor 10."""
    path = tmp_path / "manifest.duckdb"
    write_manifest(
        path,
        [result("a", stage, ResultStatus.SUCCEEDED, check_status="passed") for stage in ALL_STAGES],
        cursor=10,
    )
    return path


def test_a_written_manifest_remembers_its_cursor(tmp_path: Path) -> None:
    """read_cursor gives back the storage id the manifest was written at."""
    assert read_cursor(built(tmp_path)) == 10


def test_a_missing_or_older_manifest_has_no_cursor(tmp_path: Path) -> None:
    """No file, or a file without the state table (an older layout), means a full rebuild."""
    assert read_cursor(tmp_path / "absent.duckdb") is None
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as conn:
        conn.execute("CREATE TABLE media_results (partition_key VARCHAR)")
    assert read_cursor(old) is None


def test_an_update_changes_only_the_rows_it_is_given(tmp_path: Path) -> None:
    """A new result replaces its row (check cleared); the other rows stay as they were."""
    path = built(tmp_path)
    summary = update_manifest(
        path,
        results=[result("a", Stage.THUMBNAIL, ResultStatus.FAILED, error_message="blank")],
        checks=[],
        registered=["a"],
        source_uris=uris,
        cursor=25,
    )
    found = rows(path)
    assert found[("a", "thumbnail")][:2] == ("failed", None)
    assert found[("a", "audio")][:2] == ("succeeded", "passed")
    assert (summary.rows, summary.changed_rows) == (4, 1)
    assert read_cursor(path) == 25


def test_newly_registered_files_get_pending_rows(tmp_path: Path) -> None:
    """A key registered since the last write appears as pending, with its source URI."""
    path = built(tmp_path)
    update_manifest(path, results=[], checks=[], registered=["a", "b"], source_uris=uris, cursor=11)
    found = rows(path)
    assert {stage for (key, stage) in found if key == "b"} == {stage.value for stage in ALL_STAGES}
    assert found[("b", "ingested")] == ("pending", None, None, "file:///new/b")


def test_files_no_longer_registered_lose_their_rows(tmp_path: Path) -> None:
    """A partition deleted from Dagster disappears from the manifest."""
    path = built(tmp_path)
    update_manifest(path, results=[], checks=[], registered=[], source_uris=uris, cursor=11)
    assert rows(path) == {}


def test_a_newer_check_changes_only_the_check_columns(tmp_path: Path) -> None:
    """A check verdict on an unchanged row sets its check_status and check_message."""
    path = built(tmp_path)
    update_manifest(
        path,
        results=[],
        checks=[CheckUpdate("a", "thumbnail", "failed", "the picture is blank")],
        registered=["a"],
        source_uris=uris,
        cursor=12,
    )
    assert rows(path)[("a", "thumbnail")][:3] == ("succeeded", "failed", "the picture is blank")


def test_an_update_matches_a_full_build_of_the_same_results(tmp_path: Path) -> None:
    """Updating a manifest gives the same rows as building one from all results at once."""
    first = [result("a", stage, ResultStatus.PENDING) for stage in ALL_STAGES]
    later = [result("a", Stage.INGESTED, ResultStatus.SUCCEEDED, job_id="job_1")]
    updated = tmp_path / "updated.duckdb"
    write_manifest(updated, first, cursor=1)
    update_manifest(updated, results=later, checks=[], registered=["a"], source_uris=uris, cursor=2)
    full = tmp_path / "full.duckdb"
    write_manifest(full, [*first, *later], cursor=2)
    assert rows(updated) == rows(full)


def test_writers_take_turns(tmp_path: Path) -> None:
    """A second writer waits for the manifest lock until the first lets go."""
    path = tmp_path / "manifest.duckdb"
    order: list[str] = []

    def second() -> None:
        with manifest_lock(path):
            order.append("second")

    with manifest_lock(path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]
