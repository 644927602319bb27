"""The event log and run storages that keep their SQLite connections open."""

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.instance.ref import InstanceRef

from media_assets.instance import storage
from media_assets.instance.config import INSTANCE_TEMPLATE, write_instance_config
from media_assets.instance.storage import OpenSqliteEventLogStorage, OpenSqliteRunStorage


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home as media-assets prepares it; DAGSTER_HOME points elsewhere to show it is not used."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_instance_config(home)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    return home


def open_instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def materialize(instance: dg.DagsterInstance, partition: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="thumbnail", partition=partition)
    )


def materialized(instance: dg.DagsterInstance) -> set[str]:
    records = instance.fetch_materializations(dg.AssetKey("thumbnail"), limit=1000).records
    return {record.partition_key for record in records if record.partition_key}


def test_prepared_home_uses_it(dagster_home: Path) -> None:
    """A home's dagster.yaml selects the open-connection event log storage."""
    with open_instance(dagster_home) as instance:
        assert isinstance(instance.event_log_storage, OpenSqliteEventLogStorage)


def test_prepared_home_uses_the_open_run_storage(dagster_home: Path) -> None:
    """A home's dagster.yaml selects the open-connection run storage, where Dagster keeps runs."""
    with open_instance(dagster_home) as instance:
        assert isinstance(instance.run_storage, OpenSqliteRunStorage)
        instance.run_storage.set_cursor_values({"media_assets/probe": "1"})
    assert (dagster_home / "history" / "runs.db").is_file()


@pytest.fixture
def sqlite_connects() -> Iterator[list[object]]:
    """Every new SQLite connection any engine opens while the test runs."""
    opened: list[object] = []

    def count(connection: object, _record: object) -> None:
        opened.append(connection)

    sa.event.listen(sa.engine.Engine, "connect", count)
    yield opened
    sa.event.remove(sa.engine.Engine, "connect", count)


def test_run_storage_reuses_its_connections(
    dagster_home: Path, sqlite_connects: list[object]
) -> None:
    """Two hundred key-value writes and reads open a handful of connections, not one each."""
    with open_instance(dagster_home) as instance:
        run_storage = instance.run_storage
        sqlite_connects.clear()  # opening the instance checks its schema on connections of its own
        for n in range(100):
            run_storage.set_cursor_values({f"media_assets/k{n}": str(n)})
            assert run_storage.get_cursor_values({f"media_assets/k{n}"}) == {
                f"media_assets/k{n}": str(n)
            }
    assert len(sqlite_connects) <= 5


def test_run_storage_serves_threads_at_once(dagster_home: Path) -> None:
    """Four threads writing at once through one pooled engine lose no write."""
    with open_instance(dagster_home) as instance:
        run_storage = instance.run_storage
        errors: list[BaseException] = []

        def write(thread: int) -> None:
            try:
                for n in range(50):
                    run_storage.set_cursor_values({f"media_assets/t{thread}/{n}": str(n)})
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        keys = {f"media_assets/t{t}/{n}" for t in range(4) for n in range(50)}
        assert set(run_storage.get_cursor_values(keys)) == keys


def test_event_log_lives_in_its_home(dagster_home: Path) -> None:
    """The event log is where Dagster keeps it, under the home, whatever DAGSTER_HOME says."""
    with open_instance(dagster_home) as instance:
        materialize(instance, "a.mp4")
    assert (dagster_home / "history" / "runs" / "index.db").is_file()


def test_template_alone_still_loads(tmp_path: Path) -> None:
    """The template alone, as `dagster dev` reads it in the repository, is a valid instance."""
    home = tmp_path / "plain"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text())
    with open_instance(home) as instance:
        materialize(instance, "a.mp4")
        assert materialized(instance) == {"a.mp4"}


def test_moved_home_gets_its_path_corrected(tmp_path: Path) -> None:
    """A home moved elsewhere has its event log path fixed and the user's edits kept."""
    old = tmp_path / "old"
    old.mkdir()
    config = write_instance_config(old)
    config.write_text(config.read_text() + "\n# my note\n")
    new = tmp_path / "new"
    old.rename(new)
    text = write_instance_config(new).read_text()
    assert str(new / "history" / "runs") in text
    assert str(old) not in text
    assert "# my note" in text
    with open_instance(new) as instance:
        materialize(instance, "a.mp4")
    assert (new / "history" / "runs" / "index.db").is_file()


def test_home_from_an_older_template_gets_the_storage(tmp_path: Path) -> None:
    """A dagster.yaml copied from the template before the storage block existed gains it."""
    home = tmp_path / "older"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text() + "# my note\n")
    text = write_instance_config(home).read_text()
    assert "# my note" in text
    assert text.count("event_log_storage:") == 1
    with open_instance(home) as instance:
        assert isinstance(instance.event_log_storage, OpenSqliteEventLogStorage)


def test_own_config_is_left_alone(tmp_path: Path) -> None:
    """A dagster.yaml the user wrote without this storage is not changed."""
    home = tmp_path / "own"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_instance_config(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_writes_are_seen_at_once_by_another_process(dagster_home: Path) -> None:
    """A commit through an open connection is visible to another process's next read."""
    reader = textwrap.dedent(
        """
        import sys
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(sys.argv[1])) as instance:
            records = instance.fetch_materializations(dg.AssetKey("thumbnail"), limit=10).records
            print(",".join(sorted(r.partition_key for r in records)))
        """
    )
    with open_instance(dagster_home) as instance:
        materialize(instance, "a.mp4")
        materialize(instance, "b.mp4")
        seen = subprocess.run(
            [sys.executable, "-c", reader, str(dagster_home)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert seen == "a.mp4,b.mp4"
        # And the other way: what another instance writes, this one reads on its open connection.
        with open_instance(dagster_home) as other:
            materialize(other, "c.mp4")
        assert materialized(instance) == {"a.mp4", "b.mp4", "c.mp4"}


def test_keeps_a_bounded_number_of_connections(
    dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run shards not used lately are closed beyond the bound; the index shard stays open."""
    monkeypatch.setattr(storage, "MAX_OPEN_SHARDS", 3)
    with open_instance(dagster_home) as instance:
        event_log = instance.event_log_storage
        assert isinstance(event_log, OpenSqliteEventLogStorage)
        for number in range(6):
            with event_log.run_connection(f"run{number}"):
                pass
        with event_log.index_connection():
            pass
        assert event_log.open_shards() == ["run3", "run4", "run5", "index"]
        for number in range(6, 9):
            with event_log.run_connection(f"run{number}"):
                pass
        assert event_log.open_shards() == ["index", "run6", "run7", "run8"]


def test_wipe_closes_connections_and_storage_goes_on(dagster_home: Path) -> None:
    """After a wipe, new events land in fresh files and are read back."""
    with open_instance(dagster_home) as instance:
        materialize(instance, "a.mp4")
        instance.wipe()
        assert materialized(instance) == set()
        materialize(instance, "b.mp4")
        assert materialized(instance) == {"b.mp4"}
    with open_instance(dagster_home) as instance:
        assert materialized(instance) == {"b.mp4"}


def test_home_on_a_database_reads_the_url_from_the_environment(tmp_path: Path) -> None:
    """With a database the storage block is Dagster's PostgreSQL storage, without the URL in it."""
    home = tmp_path / "on-database"
    home.mkdir()
    text = write_instance_config(home, database=True).read_text()
    assert "storage:\n  postgres:\n    postgres_url:\n      env: MEDIA_ASSETS_DATABASE_URL" in text
    assert "event_log_storage" not in text


def test_switching_storage_rewrites_only_the_block(tmp_path: Path) -> None:
    """SQLite to database and back replaces the storage block and keeps the user's edits."""
    home = tmp_path / "switching"
    home.mkdir()
    config = write_instance_config(home)
    config.write_text(config.read_text().replace("enabled: false", "enabled: true") + "# mine\n")
    on_database = write_instance_config(home, database=True).read_text()
    assert "OpenSqliteEventLogStorage" not in on_database
    assert "postgres_url" in on_database
    back = write_instance_config(home).read_text()
    assert "postgres_url" not in back
    assert back.count("OpenSqliteEventLogStorage") == 1
    assert "enabled: true" in back and "# mine" in back
    with open_instance(home) as instance:
        assert isinstance(instance.event_log_storage, OpenSqliteEventLogStorage)


def test_block_from_before_the_markers_is_replaced(tmp_path: Path) -> None:
    """A file written before the markers had its storage unmarked: it is swapped, not doubled."""
    home = tmp_path / "older-block"
    home.mkdir()
    old_block = (
        "event_log_storage:\n  module: media_assets.instance.storage\n"
        "  class: OpenSqliteEventLogStorage\n  config:\n    base_dir: /gone/history/runs\n"
    )
    (home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text() + old_block + "# mine\n")
    text = write_instance_config(home, database=True).read_text()
    assert "OpenSqliteEventLogStorage" not in text
    assert text.count("postgres_url") == 1
    assert "# mine" in text
