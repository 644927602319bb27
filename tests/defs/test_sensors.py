"""The new_uploads sensor over a temporary watch folder.

No `from __future__ import annotations` here: Dagster inspects the stub asset's context annotation.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from media_assets.defs.partitions import MEDIA_FILES, media_files
from media_assets.defs.sensors import (
    PIPELINE_ASSET_KEYS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    UploadsCursor,
    build_new_uploads_sensor,
    new_uploads,
)
from media_assets.registry import default_registry
from media_assets.sources import fingerprint_file


class Watcher:
    """Runs ticks the way the daemon does: cursor carried over, partition requests applied."""

    def __init__(self, instance: dg.DagsterInstance, inbox: Path) -> None:
        self.instance = instance
        self.inbox = inbox
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor)
        result = new_uploads(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, request.partition_keys
            )
        return result

    def drop(self, relative: str, data: bytes = b"media") -> Path:
        path = self.inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def watcher(home: Path) -> Iterator[Watcher]:
    """The default watch folder ($MEDIA_ASSETS_HOME/inbox) and a test instance."""
    inbox = home / "inbox"
    inbox.mkdir()
    with dg.instance_for_test() as instance:
        yield Watcher(instance, inbox)


def added_keys(result: dg.SensorResult) -> list[str]:
    return [
        key
        for request in result.dynamic_partitions_requests or []
        if isinstance(request, dg.AddDynamicPartitionsRequest)
        for key in request.partition_keys
    ]


def requests(result: dg.SensorResult) -> list[dg.RunRequest]:
    return list(result.run_requests or [])


def partitions(watcher: Watcher) -> list[str]:
    return list(watcher.instance.get_dynamic_partitions(MEDIA_FILES))


def test_new_file_waits_one_tick(watcher: Watcher) -> None:
    """A file seen for the first time is remembered, not yet added."""
    watcher.drop("clip.mp4")
    result = watcher.tick()
    assert requests(result) == [] and added_keys(result) == []
    assert len(UploadsCursor.from_json(result.cursor).pending) == 1


def test_settled_file_is_added_and_requested(watcher: Watcher) -> None:
    """A file unchanged over two ticks becomes a partition and a run."""
    watcher.drop("clip.mp4")
    watcher.tick()
    result = watcher.tick()
    [key] = added_keys(result)
    assert key.startswith("clip.mp4-")
    assert [request.tags[RANGE_START_TAG] for request in requests(result)] == [key]
    assert UploadsCursor.from_json(result.cursor).pending == {}


def test_file_still_being_written_is_not_added(watcher: Watcher) -> None:
    """A file whose size changes between ticks waits until it stops changing."""
    path = watcher.drop("upload.mov", b"a" * 10)
    watcher.tick()
    with path.open("ab") as handle:
        handle.write(b"b" * 10)
    assert added_keys(watcher.tick()) == []
    result = watcher.tick()
    assert len(added_keys(result)) == 1


def test_files_are_added_once(watcher: Watcher) -> None:
    """Once a file is a partition, later ticks leave it alone."""
    watcher.drop("clip.mp4")
    watcher.tick()
    watcher.tick()
    result = watcher.tick()
    assert requests(result) == [] and added_keys(result) == []
    assert len(partitions(watcher)) == 1


def test_hidden_and_temporary_files_are_ignored(watcher: Watcher) -> None:
    """Hidden files, partial downloads and temp files never become partitions."""
    for name in [".hidden.mp4", "~backup.mp4", "copy.mp4.part", "x.crdownload", ".cache/a.mp4"]:
        watcher.drop(name)
    watcher.drop("real.mp4")
    watcher.tick()
    [key] = added_keys(watcher.tick())
    assert key.startswith("real.mp4-")


def test_facts_are_registered(watcher: Watcher) -> None:
    """Added files are in the source registry with size and fingerprint."""
    path = watcher.drop("sub/clip.mp4", b"12345")
    watcher.tick()
    [key] = added_keys(watcher.tick())
    facts = default_registry().get(key)
    assert facts is not None
    assert facts.uri == path.resolve().as_uri() and facts.name == "sub/clip.mp4"
    assert facts.size == 5 and facts.fingerprint == fingerprint_file(path, 5)


def test_keys_per_tick_are_capped(watcher: Watcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """No tick adds more than MEDIA_ASSETS_SENSOR_MAX_KEYS; the rest come on later ticks."""
    monkeypatch.setenv("MEDIA_ASSETS_SENSOR_MAX_KEYS", "3")
    for index in range(7):
        watcher.drop(f"clip_{index}.mp4")
    counts = [len(added_keys(watcher.tick())) for _ in range(6)]
    assert max(counts) == 3
    assert sum(counts) == 7
    assert len(partitions(watcher)) == 7


def test_run_requests_are_ranged(watcher: Watcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """New keys become one ranged run per MEDIA_ASSETS_FILES_PER_RUN contiguous keys."""
    monkeypatch.setenv("MEDIA_ASSETS_FILES_PER_RUN", "2")
    for index in range(5):
        watcher.drop(f"clip_{index}.mp4")
    watcher.tick()
    result = watcher.tick()
    keys = added_keys(result)
    ranges = [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in requests(result)]
    assert ranges == [(keys[0], keys[1]), (keys[2], keys[3]), (keys[4], keys[4])]
    assert partitions(watcher) == keys


def test_run_requests_carry_selection_tags_and_unique_run_keys(watcher: Watcher) -> None:
    """Sensor runs select the four pipeline assets, outrank backfills and have unique run keys."""
    for index in range(3):
        watcher.drop(f"clip_{index}.mp4")
    watcher.tick()
    [request] = requests(watcher.tick())
    assert request.asset_selection == PIPELINE_ASSET_KEYS
    assert request.tags["dagster/priority"] == "10"
    assert request.tags["media_assets/source"] == "sensor"
    assert request.run_key == f"{request.tags[RANGE_START_TAG]}:{request.tags[RANGE_END_TAG]}"


def test_changed_file_is_run_again(watcher: Watcher) -> None:
    """A known file replaced with new content is re-registered and re-run on its own."""
    path = watcher.drop("clip.mp4", b"old")
    watcher.tick()
    [key] = added_keys(watcher.tick())
    path.write_bytes(b"new content")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    watcher.tick()
    result = watcher.tick()
    assert added_keys(result) == []
    [request] = requests(result)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (key, key)
    facts = default_registry().get(key)
    assert facts is not None and facts.size == len(b"new content")
    assert request.run_key == f"{key}:{facts.fingerprint}"


def test_cursor_round_trips() -> None:
    """A cursor survives JSON; a missing or garbled one starts empty."""
    cursor = UploadsCursor(pending={"a.mp4-00000000": (10, 20), "b.mov-11111111": (0, 5)})
    assert UploadsCursor.from_json(cursor.to_json()) == cursor
    assert UploadsCursor.from_json(None) == UploadsCursor()
    assert UploadsCursor.from_json('{"pending": [1, 2]}') == UploadsCursor()


def test_missing_watch_folder_skips(watcher: Watcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the watch folder the tick skips and says which folder it wanted."""
    monkeypatch.setenv("MEDIA_ASSETS_WATCH_DIR", str(watcher.inbox / "absent"))
    result = watcher.tick()
    assert result.skip_reason is not None
    assert "absent" in (result.skip_reason.skip_message or "")


def test_large_folder_tick(watcher: Watcher) -> None:
    """A 2,000-file folder is added in full on the second tick, in 80 ranged runs."""
    for folder in range(10):
        for index in range(200):
            watcher.drop(f"d{folder}/clip_{index:03}.mp4", b"x")
    watcher.tick()
    result = watcher.tick()
    assert len(added_keys(result)) == 2000
    assert len(requests(result)) == 80


@dg.multi_asset(
    specs=[
        dg.AssetSpec("ingested"),
        *(dg.AssetSpec(name, deps=["ingested"]) for name in ("thumbnail", "audio", "transcoded")),
    ],
    partitions_def=media_files,
    can_subset=True,
)
def stub_pipeline(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[None]]:
    """Stands in for the real pipeline: materializes the selected assets for the run's keys."""
    for name in ("ingested", "thumbnail", "audio", "transcoded"):
        if dg.AssetKey(name) in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=name)


def test_requests_resolve_against_definitions(watcher: Watcher) -> None:
    """Dagster's own tick evaluation accepts the ranged requests for the pipeline assets."""
    defs = dg.Definitions(assets=[stub_pipeline], sensors=[build_new_uploads_sensor(running=False)])
    sensor = defs.resolve_sensor_def("new_uploads")
    for index in range(3):
        watcher.drop(f"clip_{index}.mp4")
    first = sensor.evaluate_tick(
        dg.build_sensor_context(instance=watcher.instance, definitions=defs)
    )
    data = sensor.evaluate_tick(
        dg.build_sensor_context(instance=watcher.instance, cursor=first.cursor, definitions=defs)
    )
    assert len(data.run_requests or []) == 1


def test_ranged_run_covers_its_keys(watcher: Watcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Running a request's tags gives the pipeline exactly the keys of its range."""
    monkeypatch.setenv("MEDIA_ASSETS_FILES_PER_RUN", "2")
    for index in range(3):
        watcher.drop(f"clip_{index}.mp4")
    watcher.tick()
    result = watcher.tick()
    first = requests(result)[0]
    run = dg.materialize(
        [stub_pipeline],
        instance=watcher.instance,
        tags=first.tags,
        selection=first.asset_selection,
    )
    materialized = {
        event.partition
        for event in run.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("ingested")
    }
    assert materialized == set(added_keys(result)[:2])
