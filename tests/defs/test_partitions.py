"""Registering sources as media_files partitions with their facts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from media_assets.defs import partitions
from media_assets.defs.partitions import MEDIA_FILES, register_sources
from media_assets.registry import KeyConflictError, SourceRegistry, SqliteSourceRegistry
from media_assets.sources import SourceFile


def source(index: int, uri: str | None = None) -> SourceFile:
    return SourceFile(
        key=f"clip_{index}.mp4-{index:08x}",
        uri=uri or f"https://cdn.example.com/clip_{index}.mp4",
        name=f"clip_{index}.mp4",
        options={"transcoded": {"width": 640}},
    )


@pytest.fixture
def registry(tmp_path: Path) -> SourceRegistry:
    return SqliteSourceRegistry(tmp_path / "sources.sqlite3")


def test_new_keys_are_added_in_order(
    instance: dg.DagsterInstance, registry: SourceRegistry
) -> None:
    """Registration adds every new key, in the given order, and returns them."""
    files = [source(index) for index in (3, 1, 2)]
    added = register_sources(instance, files, registry=registry)
    assert added == [file.key for file in files]
    assert instance.get_dynamic_partitions(MEDIA_FILES) == added


def test_registering_again_adds_nothing(
    instance: dg.DagsterInstance, registry: SourceRegistry
) -> None:
    """Known keys are not added twice; only new ones are returned."""
    register_sources(instance, [source(1), source(2)], registry=registry)
    added = register_sources(instance, [source(2), source(3), source(3)], registry=registry)
    assert added == [source(3).key]
    assert len(instance.get_dynamic_partitions(MEDIA_FILES)) == 3


def test_facts_are_readable_by_key(instance: dg.DagsterInstance, registry: SourceRegistry) -> None:
    """After registration the pipeline can look a key's source up in the registry."""
    register_sources(instance, [source(7)], registry=registry)
    assert registry.get(source(7).key) == source(7)


def test_large_registrations_are_batched(
    instance: dg.DagsterInstance, registry: SourceRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys beyond one batch are all added, still in order."""
    monkeypatch.setattr(partitions, "_ADD_BATCH", 3)
    files = [source(index) for index in range(8)]
    assert register_sources(instance, files, registry=registry) == [file.key for file in files]
    assert instance.get_dynamic_partitions(MEDIA_FILES) == [file.key for file in files]


def test_conflicting_key_adds_nothing(
    instance: dg.DagsterInstance, registry: SourceRegistry
) -> None:
    """A key already bound to another URI stops registration before any partition is added."""
    register_sources(instance, [source(1)], registry=registry)
    with pytest.raises(KeyConflictError):
        register_sources(
            instance, [source(2), source(1, uri="s3://other/clip_1.mp4")], registry=registry
        )
    assert instance.get_dynamic_partitions(MEDIA_FILES) == [source(1).key]
