"""The source registry: facts by partition key, in a home's SQLite file or the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from media_assets.postgres.registry import PostgresSourceRegistry
from media_assets.registry import (
    KeyConflictError,
    SourceRegistry,
    SqliteSourceRegistry,
    default_registry,
)
from media_assets.sources import SourceFile


def source(index: int, **changes: object) -> SourceFile:
    values: dict[str, object] = {
        "key": f"clip_{index}.mp4-{index:08x}",
        "uri": f"file:///library/clip_{index}.mp4",
        "name": f"clip_{index}.mp4",
        "size": 100 + index,
        "mtime_ns": 1_700_000_000_000_000_000 + index,
        "fingerprint": f"s256:{index:064x}",
        "options": {"thumbnail": {"width": 320}},
    }
    values.update(changes)
    return SourceFile(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> SourceRegistry:
    """Each behaviour below holds for both registries."""
    if request.param == "postgres":
        return PostgresSourceRegistry(request.getfixturevalue("postgres_url"))
    return SqliteSourceRegistry(tmp_path / "home" / "sources.sqlite3")


def test_upsert_then_get_returns_the_same_facts(registry: SourceRegistry) -> None:
    """What is registered comes back unchanged, options included."""
    registry.upsert([source(1)])
    assert registry.get(source(1).key) == source(1)


def test_a_declared_kind_is_kept_apart_from_the_options(registry: SourceRegistry) -> None:
    """A source's JSONL kind comes back as its kind, never as a stage's options."""
    registry.upsert([source(1, kind="audio")])
    found = registry.get(source(1).key)
    assert found is not None
    assert (found.kind, found.options) == ("audio", {"thumbnail": {"width": 320}})


def test_get_unknown_key_is_none(registry: SourceRegistry) -> None:
    """An unregistered key has no facts."""
    assert registry.get("nope-00000000") is None


def test_get_many_returns_known_keys_only(registry: SourceRegistry) -> None:
    """get_many spans more keys than one SQL statement binds and skips unknown ones."""
    files = [source(index) for index in range(2500)]
    assert registry.upsert(files) == 2500
    wanted = [file.key for file in files[::2]] + ["unknown-00000000"]
    found = registry.get_many(wanted)
    assert set(found) == set(wanted[:-1])
    assert found[files[10].key] == files[10]


def test_upsert_refreshes_facts(registry: SourceRegistry) -> None:
    """Registering a key again updates its size, fingerprint and options."""
    registry.upsert([source(1)])
    changed = source(1, size=5, fingerprint="s256:new", options={"audio": {"format": "wav"}})
    registry.upsert([changed])
    assert registry.get(changed.key) == changed
    assert registry.count() == 1


def test_key_cannot_be_rebound_to_another_uri(registry: SourceRegistry) -> None:
    """A key registered for one URI refuses another, and the whole batch is rolled back."""
    registry.upsert([source(1)])
    intruder = source(1, uri="file:///elsewhere/clip_1.mp4")
    with pytest.raises(KeyConflictError) as raised:
        registry.upsert([source(2), intruder])
    assert raised.value.conflicts == [(intruder, source(1).uri)]
    assert registry.get(source(2).key) is None
    assert registry.get(source(1).key) == source(1)


def test_keys_for_uris(registry: SourceRegistry) -> None:
    """Registered URIs map back to their keys; unknown URIs are absent."""
    registry.upsert([source(1), source(2)])
    found = registry.keys_for_uris([source(2).uri, "file:///unknown.mp4"])
    assert found == {source(2).uri: source(2).key}


def test_stat_index_lists_sizes_and_mtimes(registry: SourceRegistry) -> None:
    """stat_index gives (size, mtime_ns) per key in one call."""
    registry.upsert([source(1), source(2, size=None, mtime_ns=None)])
    assert registry.stat_index() == {
        source(1).key: (source(1).size, source(1).mtime_ns),
        source(2).key: (None, None),
    }


def test_registry_uses_wal(tmp_path: Path) -> None:
    """The SQLite file is in WAL mode so readers never block the writer."""
    registry = SqliteSourceRegistry(tmp_path / "sources.sqlite3")
    with sqlite3.connect(registry.path) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_registry_is_shared_between_handles(tmp_path: Path) -> None:
    """A second handle on the same file (as another process would open) sees the writes."""
    path = tmp_path / "sources.sqlite3"
    SqliteSourceRegistry(path).upsert([source(3)])
    assert SqliteSourceRegistry(path).get(source(3).key) == source(3)


def test_default_registry_lives_in_home(home: Path) -> None:
    """Without a database the default registry is MEDIA_ASSETS_HOME/sources.sqlite3."""
    registry = default_registry()
    assert isinstance(registry, SqliteSourceRegistry)
    assert registry.path == home / "sources.sqlite3"


def test_default_registry_is_the_databases_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """With MEDIA_ASSETS_DATABASE_URL every home reads and writes the same registry."""
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", postgres_url)
    monkeypatch.setenv("MEDIA_ASSETS_HOME", str(tmp_path / "machine-a"))
    default_registry().upsert([source(4)])
    monkeypatch.setenv("MEDIA_ASSETS_HOME", str(tmp_path / "machine-b"))
    assert default_registry().get(source(4).key) == source(4)
    assert not (tmp_path / "machine-a" / "sources.sqlite3").exists()


def test_one_batch_naming_a_key_twice_for_two_uris_is_a_conflict(
    registry: SourceRegistry,
) -> None:
    """Two files of one batch claiming one key are refused as two batches would be."""
    twin = source(1, uri="file:///elsewhere/clip_1.mp4")
    with pytest.raises(KeyConflictError):
        registry.upsert([source(1), twin])
    assert registry.get(source(1).key) is None
