"""Scale of the Dagster side at library size: registration, sensor tick, manifest, UI query,
and a library backfill's efficiency, on SQLite and on PostgreSQL storage side by side.

    .venv/bin/python bench/scale.py [--files 50000] [--storage sqlite,postgres]
        [--database-url postgresql://...] [--backfill-files 1000] [--skip-backfill] [--keep]

Everything happens in a temporary work folder (``MEDIA_ASSETS_HOME``) with its own
``DAGSTER_HOME`` (``dagster.yaml`` written as ``media-assets`` writes it): SQLite in the folder,
or PostgreSQL, where every home gets a new database of its own on a throwaway local server
(``media_assets.postgres.scratch_server``; PostgreSQL's server binaries must be installed) or on
the server ``--database-url`` names. Nothing else is read or written. Sections 1-4 need no media,
service or daemon. It measures, for each storage:

1. registration: N tiny files in a folder tree (made first, not timed), then
   ``sources.discover([folder])`` + ``default_registry().upsert(files)`` +
   ``defs.partitions.register_sources(instance, files)``, what ``media-assets run`` does before
   it launches anything. Target <= 30 s.
2. sensor tick: ``new_uploads`` evaluated as the code server does
   (``SensorDefinition.evaluate_tick``, which also resolves the run requests) over the N-file
   folder as ``MEDIA_ASSETS_WATCH_DIR``: the first tick on a fresh instance (files seen once),
   the next tick (files stable: keys registered and requested, up to
   ``MEDIA_ASSETS_SENSOR_MAX_KEYS`` per tick), and a steady-state tick where all N files are
   known. Dagster cancels a tick after 60 s (``DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS``). Also shown:
   what the sensor daemon then spends applying the tick's partition request (one
   ``has_dynamic_partition`` query per key, outside the 60 s budget).
3. manifest build: the event log holds one result per (file, stage), 4 x N events shaped exactly
   made by the pipeline's own recorder (materializations; ~5 % failure observations; a few
   not-applicable audio stages). They are written in one SQLite transaction through the event
   log storage's own row builders (not timed; ``report_runless_asset_event`` is timed on a sample
   to show why). Then ``batch_manifest``'s full build is timed (``refresh_manifest(rebuild=True)``:
   read every result and check, write the file; target <= 10 s), and an update that finds nothing
   new (what each ``manifest_updates`` run costs when nothing happened).
4. UI partition-status query: the Dagster UI's GraphQL, in process over a workspace that loads
   ``media_assets.definitions`` in a code server as ``dagster dev`` does. Timed: the asset page's
   ``PartitionHealthQuery`` for each pipeline asset (partition keys + materialized / failed /
   materializing lists) and one ``assetNodes`` query for the four assets with
   ``assetPartitionStatuses`` and ``partitionStats``; first (status cache built) and again
   (cache warm). No target in the issue; Dagster's docs put the comfortable limit at 100,000
   partitions per asset.

5. backfill: ``media-assets run --max-in-flight C`` over a JSONL library of
   ``--backfill-files`` URLs against a simulate service, exactly as ``bench/throughput.py``'s
   Dagster path measures it: E = ideal / actual from the service's job records, and CPU per file
   of every process of the command (CLI, daemon, code servers, run workers); on PostgreSQL also
   the database server's own CPU per file (the local server only).

Seconds are wall-clock on this machine; with the page cache warm (the files were just made).
``--files`` shrinks the library for a quick check; ``--keep`` leaves the work folder in place.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import dagster as dg
from dagster._core.events import (
    AssetObservationData,
    DagsterEvent,
    DagsterEventType,
    StepMaterializationData,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from quiet import warn_if_other_benches_run

REPO = Path(__file__).resolve().parents[1]
SENSOR_TIMEOUT_S = 60.0
REGISTRATION_TARGET_S = 30.0
MANIFEST_TARGET_S = 10.0
FILES_PER_FOLDER = 100
FOLDERS_PER_GROUP = 50
FAILED_SHARE = 0.05
NO_AUDIO_SHARE = 0.03
RUNLESS_SAMPLE = 200
INSERT_CHUNK = 5000

T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------------


def timed(func: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = func()
    return value, time.perf_counter() - started


@dataclass
class Figure:
    name: str
    seconds: float
    target: str = "-"
    met: bool | None = None
    note: str = ""


@dataclass
class Storage:
    """Where homes keep Dagster's storage and the registry: SQLite, or a PostgreSQL server."""

    name: str
    server_url: str | None = None  # postgresql://... of a database to create others next to
    server_pid: int | None = None  # the local server's postmaster, to read its CPU

    def database_for(self, home: str) -> str | None:
        """A new, empty database for ``home`` (its URL), or None on SQLite."""
        if self.server_url is None:
            return None
        import psycopg2

        name = f"bench_{home}_{int(time.time() * 1000)}"
        connection = psycopg2.connect(self.server_url)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()
        return self.server_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Home:
    home: Path
    dagster_home: Path
    database_url: str | None


def make_home(root: Path, name: str, storage: Storage) -> Home:
    """A work folder and its DAGSTER_HOME with the instance config ``media-assets`` writes."""
    from media_assets.instance.config import write_instance_config

    home = root / name
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True)
    database_url = storage.database_for(name)
    write_instance_config(dagster_home, database=database_url is not None)
    return Home(home, dagster_home, database_url)


@contextmanager
def use_home(home: Home) -> Iterator[dg.DagsterInstance]:
    """Point the environment at ``home`` and open its instance (as a run worker would)."""
    from media_assets.settings import sqlalchemy_postgres_url

    os.environ["MEDIA_ASSETS_HOME"] = str(home.home)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    if home.database_url is None:
        os.environ.pop("MEDIA_ASSETS_DATABASE_URL", None)
    else:
        os.environ["MEDIA_ASSETS_DATABASE_URL"] = sqlalchemy_postgres_url(home.database_url)
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home.dagster_home)))
    try:
        yield instance
    finally:
        instance.dispose()


def make_library(folder: Path, count: int) -> None:
    """``count`` tiny distinct files in a two-level tree, 100 per folder."""
    for index in range(count):
        sub = index // FILES_PER_FOLDER
        target = folder / f"g{sub // FOLDERS_PER_GROUP:03d}" / f"d{sub:04d}"
        if index % FILES_PER_FOLDER == 0:
            target.mkdir(parents=True, exist_ok=True)
        (target / f"clip_{index:06d}.mp4").write_bytes(f"not really a video {index}\n".encode())


# -- 1. registration -------------------------------------------------------------------------


def bench_registration(instance: dg.DagsterInstance, folder: Path) -> tuple[list[Any], dict]:
    from media_assets.defs.partitions import MEDIA_FILES, register_sources
    from media_assets.registry import default_registry
    from media_assets.sources import discover

    started = time.perf_counter()
    (files, errors), t_discover = timed(lambda: discover([folder]))
    _, t_upsert = timed(lambda: default_registry().upsert(files))
    new_keys, t_register = timed(lambda: register_sources(instance, files))
    total = time.perf_counter() - started
    assert not errors, errors[:3]
    assert len(new_keys) == len(files), (len(new_keys), len(files))
    assert len(instance.get_dynamic_partitions(MEDIA_FILES)) == len(files)
    return files, {
        "total": total,
        "discover": t_discover,
        "upsert": t_upsert,
        "register_sources": t_register,
    }


# -- 2. sensor -------------------------------------------------------------------------------


def evaluate_sensor(instance: dg.DagsterInstance, cursor: str | None) -> tuple[Any, float]:
    from media_assets.definitions import defs

    sensor = defs.resolve_sensor_def("new_uploads")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return timed(lambda: sensor.evaluate_tick(context))


def apply_partition_requests(instance: dg.DagsterInstance, data: Any) -> float:
    """What the sensor daemon does with the tick's dynamic partition requests (private API)."""
    from dagster._daemon.sensor import _handle_dynamic_partitions_requests

    quiet = SimpleNamespace(
        logger=SimpleNamespace(info=lambda *_: None),
        add_dynamic_partitions_request_result=lambda *_: None,
    )
    _, seconds = timed(
        lambda: _handle_dynamic_partitions_requests(
            data.dynamic_partitions_requests or [],
            instance,
            quiet,  # type: ignore[arg-type]
        )
    )
    return seconds


def requested_keys(data: Any) -> int:
    return sum(len(request.partition_keys) for request in data.dynamic_partitions_requests or [])


# -- 3. manifest -----------------------------------------------------------------------------


def pipeline_events(files: Sequence[Any], seed: int = 4) -> list[Any]:
    """One event per (file, stage), made by the pipeline's own recorder from stage reports."""
    from media_assets.defs.media_pipeline import _Recorder
    from media_assets.engine.chain import StageReport, options_hash
    from media_assets.engine.stages import DEFAULT_OPTIONS, MediaFacts, stage_job
    from media_assets.ittybit.keys import idempotency_key
    from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, Stage

    rng = random.Random(seed)
    base_ms = int(time.time() * 1000) - 86_400_000
    events: list[Any] = []
    recorder = _Recorder(None, frozenset())
    # The recorder also posts warnings for failures; the event log only gets the events.
    recorder.attach(
        lambda item: (
            events.append(item)
            if isinstance(item, dg.AssetMaterialization | dg.AssetObservation)
            else None
        )
    )
    for number, file in enumerate(files):
        has_audio = rng.random() >= NO_AUDIO_SHARE
        facts = MediaFacts(kind="video", has_audio=has_audio, has_video=True)
        for stage in ALL_STAGES:
            created = base_ms + number * 1000
            if rng.random() < FAILED_SHARE:
                result = MediaResult(
                    partition_key=file.key,
                    source_uri=file.uri,
                    stage=stage,
                    status=ResultStatus.FAILED,
                    job_id=f"job_{number:06d}_{stage}",
                    kind="video",
                    attempts=1,
                    error_kind="processing_failed",
                    error_message=f"{file.name}: ffmpeg failed: Invalid data found",
                    created_at=created,
                    completed_at=created + 2500,
                )
            elif stage == Stage.AUDIO and not has_audio:
                result = MediaResult(
                    partition_key=file.key,
                    source_uri=file.uri,
                    stage=stage,
                    status=ResultStatus.NOT_APPLICABLE,
                    error_message="source has no audio stream",
                )
            else:
                fmt = str(DEFAULT_OPTIONS[stage]["format"])
                result = MediaResult(
                    partition_key=file.key,
                    source_uri=file.uri,
                    stage=stage,
                    status=ResultStatus.SUCCEEDED,
                    job_id=f"job_{number:06d}_{stage}",
                    output_url=f"http://127.0.0.1:8787/files/job_{number:06d}_{stage}/clip.{fmt}",
                    kind="video",
                    format=fmt,
                    width=1280,
                    height=720,
                    duration_s=12.5,
                    filesize=1_234_567,
                    processing_ms=2500,
                    attempts=1,
                    created_at=created,
                    completed_at=created + 2500,
                )
            job = stage_job(stage, facts)
            digest = options_hash(job)
            version = file.version or file.uri
            recorder.record(
                StageReport(
                    result=result,
                    facts=facts,
                    source_version=version,
                    options_hash=digest,
                    generation=0,
                    idempotency_key=idempotency_key(file.key, str(stage), digest, version, 0),
                    requests=4,
                )
            )
    return events


def log_entry(event: Any, timestamp: float) -> EventLogEntry:
    """The entry ``instance.report_runless_asset_event`` would store for ``event``."""
    event_type, data = (
        (DagsterEventType.ASSET_MATERIALIZATION, StepMaterializationData(event))
        if isinstance(event, dg.AssetMaterialization)
        else (DagsterEventType.ASSET_OBSERVATION, AssetObservationData(event))
    )
    dagster_event = DagsterEvent(
        event_type_value=event_type.value, event_specific_data=data, job_name=RUNLESS_JOB_NAME
    )
    return EventLogEntry(
        user_message="",
        level=20,
        job_name=RUNLESS_JOB_NAME,
        run_id=RUNLESS_RUN_ID,
        error_info=None,
        timestamp=timestamp,
        step_key=None,
        dagster_event=dagster_event,
    )


def store_events_in_batch(instance: dg.DagsterInstance, events: Sequence[Any]) -> None:
    """Insert asset events into the index shard in one transaction (private storage API).

    The rows are the storage's own (``_event_to_row``), and the asset table's latest-event
    columns are set as ``store_event`` sets them, so every asset query reads what it would read
    after ``report_runless_asset_event``; only the runless run shard copy is skipped.
    """
    storage: Any = instance.event_log_storage
    start = time.time() - len(events) * 0.001
    entries = [log_entry(event, start + 0.001 * n) for n, event in enumerate(events)]
    last: dict[tuple[str, str], EventLogEntry] = {}
    with storage.index_transaction() as conn:
        for offset in range(0, len(entries), INSERT_CHUNK):
            chunk = entries[offset : offset + INSERT_CHUNK]
            conn.execute(
                SqlEventLogStorageTable.insert(), [storage._event_to_row(e) for e in chunk]
            )
        for entry in entries:
            dagster_event = entry.get_dagster_event()
            asset_key = dagster_event.asset_key
            assert asset_key is not None
            last[(asset_key.to_string(), dagster_event.event_type_value)] = entry
        table = SqlEventLogStorageTable
        for (asset_key_text, event_type), entry in last.items():
            (event_id,) = conn.execute(
                dg_select_max_id(table, asset_key_text, event_type)
            ).fetchone()
            storage._store_asset_event(conn, entry, int(event_id))


def dg_select_max_id(table: Any, asset_key_text: str, event_type: str) -> Any:
    import sqlalchemy as sa

    return sa.select(sa.func.max(table.c.id)).where(
        table.c.asset_key == asset_key_text, table.c.dagster_event_type == event_type
    )


def bench_manifest(instance: dg.DagsterInstance, home: Home) -> dict[str, Any]:
    """What batch_manifest does: a full build (read everything, write the file), then an update
    that finds nothing new (what the manifest_updates sensor costs when nothing happened)."""
    from media_assets.defs.batch_manifest import collect_changes, refresh_manifest
    from media_assets.instance.connections import keep_connections_open
    from media_assets.manifest.queries import query
    from media_assets.manifest.writer import read_cursor

    path = home.home / "manifest.duckdb"
    keep_connections_open(instance)  # as the batch_manifest asset does
    _, t_collect = timed(lambda: collect_changes(instance, None))
    written, t_total = timed(lambda: refresh_manifest(instance, rebuild=True))
    cursor = read_cursor(path)
    again, t_update = timed(lambda: refresh_manifest(instance))
    assert again.changed_rows == 0 and read_cursor(path) == cursor
    counted = query(path, "SELECT status, count(*) AS n FROM media_results GROUP BY status")
    return {
        "total": t_total,
        "collect": t_collect,
        "write": max(0.0, t_total - t_collect),
        "update": t_update,
        "rows": written.rows,
        "statuses": {row["status"]: row["n"] for row in counted},
    }


# -- 4. UI GraphQL ---------------------------------------------------------------------------

PARTITION_HEALTH_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses {
          materializedPartitions
          materializingPartitions
          failedPartitions
        }
      }
    }
  }
}
"""

ASSET_NODES_QUERY = """
query PipelineStatus($assetKeys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $assetKeys) {
    assetKey { path }
    assetPartitionStatuses {
      ... on DefaultPartitionStatuses { materializedPartitions failedPartitions }
    }
    partitionStats { numMaterialized numFailed numMaterializing numPartitions }
  }
}
"""


def bench_graphql(instance: dg.DagsterInstance) -> dict[str, Any]:
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    from media_assets.results import ALL_STAGES

    keys = [{"path": [str(stage)]} for stage in ALL_STAGES]
    target = ModuleTarget(
        module_name="media_assets.definitions",
        attribute=None,
        working_directory=str(REPO),
        location_name="media_assets",
    )
    figures: dict[str, Any] = {}
    with WorkspaceProcessContext(instance, target) as process_context:
        request = process_context.create_request_context()
        error = request.get_code_location_error("media_assets")
        if error is not None or not request.has_code_location_name("media_assets"):
            raise RuntimeError(f"media_assets.definitions did not load: {error}")

        def run(query: str, variables: dict[str, Any]) -> tuple[Any, float]:
            # A request context per query, as the webserver makes one per HTTP request.
            context = process_context.create_request_context()
            return timed(lambda: execute_dagster_graphql(context, query, variables))

        # First: the asset status cache of each asset is built from the event log and stored.
        result, figures["asset_nodes_cold"] = run(ASSET_NODES_QUERY, {"assetKeys": keys})
        figures["stats"] = {
            node["assetKey"]["path"][0]: node["partitionStats"]
            for node in result.data["assetNodes"]
        }
        _, figures["asset_nodes_warm"] = run(ASSET_NODES_QUERY, {"assetKeys": keys})
        per_asset = []
        for key in keys:
            result, seconds = run(PARTITION_HEALTH_QUERY, {"assetKey": key})
            node = result.data["assetNodeOrError"]
            assert len(node["partitionKeysByDimension"][0]["partitionKeys"]) > 0
            per_asset.append(seconds)
        figures["partition_health_each"] = per_asset
        figures["partition_health_total"] = sum(per_asset)
    return figures


# -- 5. backfill -----------------------------------------------------------------------------


def process_tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[1])
        cpu[int(entry.name)] = (int(stat[11]) + int(stat[12])) / ticks
    tree, stack = {root}, [root]
    while stack:
        parent = stack.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                stack.append(pid)
    return sum(cpu.get(pid, 0.0) for pid in tree)


def bench_backfill(storage: Storage, files: int, in_flight: int, latency: str) -> dict[str, Any]:
    """``media-assets run`` on a simulate service, measured as bench/throughput.py does."""
    from throughput import Target, dagster_path

    from media_assets.local_ittybit.config import ServiceConfig
    from media_assets.local_ittybit.server import LocalService

    low, high = (float(x) for x in latency.split(":"))
    data = Path(tempfile.mkdtemp(prefix="media_assets_scale_svc_"))
    config = ServiceConfig(
        port=0, data_dir=data, engine="simulate", latency=(low, high), workers=10_000, seed=1,
        max_wait=0,
    )  # fmt: skip
    database_url = storage.database_for("backfill")
    env = {} if database_url is None else {"MEDIA_ASSETS_DATABASE_URL": database_url}
    try:
        with LocalService(config) as service:
            server_cpu = process_tree_cpu(storage.server_pid) if storage.server_pid else None
            figures = dagster_path(
                Target(service.base_url), files, in_flight, None, f"({storage.name}) backfill",
                env=env,
            )  # fmt: skip
            if server_cpu is not None and storage.server_pid:
                server_cpu = process_tree_cpu(storage.server_pid) - server_cpu
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {"figures": figures, "server_cpu": server_cpu}


# -- one storage -----------------------------------------------------------------------------


def suite(root: Path, folder: Path, count: int, storage: Storage, args: Any) -> list[Figure]:
    """Sections 1-5 on ``storage``; returns their figures."""
    from media_assets.settings import load_settings

    label = storage.name
    figures: list[Figure] = []

    # 1. registration, on a fresh home "lib".
    lib = make_home(root / label, "lib", storage)
    with use_home(lib) as instance:
        files, reg = bench_registration(instance, folder)
    print(
        f"[{label}] registration: {reg['total']:.2f}s (discover {reg['discover']:.2f}s, upsert"
        f" {reg['upsert']:.2f}s, register_sources {reg['register_sources']:.2f}s)",
        flush=True,
    )
    figures.append(
        Figure(
            f"registration of {count:,} files",
            reg["total"],
            f"<= {REGISTRATION_TARGET_S:.0f} s",
            reg["total"] <= REGISTRATION_TARGET_S,
            f"discover {reg['discover']:.2f} + upsert {reg['upsert']:.2f}"
            f" + register_sources {reg['register_sources']:.2f}",
        )
    )

    # 2. sensor: first and adding ticks on a fresh home "watch" over the same folder ...
    watch = make_home(root / label, "watch", storage)
    with use_home(watch) as instance:
        first, t_first = evaluate_sensor(instance, None)
        adding, t_adding = evaluate_sensor(instance, first.cursor)
        t_apply = apply_partition_requests(instance, adding)
    added = requested_keys(adding)
    print(
        f"[{label}] sensor: first tick {t_first:.2f}s ({first.skip_message}); adding tick"
        f" {t_adding:.2f}s ({added:,} keys, {len(adding.run_requests)} run requests);"
        f" daemon applies the keys in {t_apply:.2f}s",
        flush=True,
    )
    # ... and the steady state on "lib", where registration made every file known.
    with use_home(lib) as instance:
        steady, t_steady = evaluate_sensor(instance, None)
    assert not steady.run_requests, "steady state should request nothing"
    print(
        f"[{label}] sensor: steady-state tick {t_steady:.2f}s ({steady.skip_message})", flush=True
    )
    budget = f"<= {SENSOR_TIMEOUT_S / 4:.0f} s (1/4 of 60)"
    figures += [
        Figure("sensor tick: first look", t_first, budget, t_first < SENSOR_TIMEOUT_S / 4),
        Figure(
            "sensor tick: files stable, keys added",
            t_adding,
            budget,
            t_adding < SENSOR_TIMEOUT_S / 4,
            f"{added:,} keys / {len(adding.run_requests)} runs"
            f" (cap {load_settings().sensor_max_keys:,});"
            f" daemon then applies them in {t_apply:.1f} s",
        ),
        Figure("sensor tick: steady state", t_steady, budget, t_steady < SENSOR_TIMEOUT_S / 4),
    ]

    # 3. manifest: 4 x N events on "lib", then a full build and an update of nothing.
    with use_home(lib) as instance:
        events, t_build = timed(lambda: pipeline_events(files))
        sample = events[:RUNLESS_SAMPLE]
        _, t_sample = timed(lambda: [instance.report_runless_asset_event(e) for e in sample])
        _, t_batch = timed(lambda: store_events_in_batch(instance, events[RUNLESS_SAMPLE:]))
        per_event_ms = 1000 * t_sample / max(1, len(sample))
        print(
            f"[{label}] event log: {len(events):,} events built in {t_build:.1f}s;"
            f" report_runless_asset_event {per_event_ms:.1f} ms/event (would take"
            f" {per_event_ms * len(events) / 1000:.0f}s for all); batched insert of the rest"
            f" {t_batch:.1f}s (not timed)",
            flush=True,
        )
        manifest = bench_manifest(instance, lib)
    print(
        f"[{label}] manifest: {manifest['total']:.2f}s (read the event log"
        f" {manifest['collect']:.2f}s, write {manifest['write']:.2f}s) ->"
        f" {manifest['rows']:,} rows {manifest['statuses']}; an update with nothing new"
        f" {manifest['update']:.2f}s",
        flush=True,
    )
    expected_rows = 4 * count
    assert manifest["rows"] == expected_rows, (manifest["rows"], expected_rows)
    assert manifest["statuses"].get("pending", 0) == 0, manifest["statuses"]
    figures.append(
        Figure(
            f"manifest build ({expected_rows:,} rows)",
            manifest["total"],
            f"<= {MANIFEST_TARGET_S:.0f} s",
            manifest["total"] <= MANIFEST_TARGET_S,
            f"read events {manifest['collect']:.2f} + write {manifest['write']:.2f}",
        )
    )
    figures.append(
        Figure(
            "manifest update, nothing new",
            manifest["update"],
            note="what a manifest_updates run costs when nothing happened",
        )
    )

    # 4. the UI's partition-status GraphQL on "lib".
    with use_home(lib) as instance:
        gql = bench_graphql(instance)
    each = ", ".join(f"{s:.2f}" for s in gql["partition_health_each"])
    print(
        f"[{label}] graphql: assetNodes x4 first {gql['asset_nodes_cold']:.2f}s, again"
        f" {gql['asset_nodes_warm']:.2f}s; PartitionHealthQuery per asset {each}s;"
        f" partitionStats {gql['stats']}",
        flush=True,
    )
    figures += [
        Figure(
            "UI: assetNodes statuses+stats, 4 assets, first",
            gql["asset_nodes_cold"],
            note="builds the asset status cache",
        ),
        Figure("UI: assetNodes statuses+stats, 4 assets, again", gql["asset_nodes_warm"]),
        Figure(
            "UI: asset page PartitionHealthQuery, 4 assets",
            gql["partition_health_total"],
            note=f"per asset {each} s",
        ),
    ]

    # 5. a library backfill through the daemon, as bench/throughput.py (a) measures it.
    if not args.skip_backfill:
        files_n, in_flight = args.backfill_files, args.backfill_in_flight
        done = bench_backfill(storage, files_n, in_flight, args.backfill_latency)
        backfill = done["figures"]
        backfill.show()
        cpu_ms = 1000 * backfill.cpu_s / max(1, files_n)
        server = done["server_cpu"]
        server_note = (
            f"; database server {1000 * server / max(1, files_n):.1f} ms/file"
            if server is not None
            else ""
        )
        figures.append(
            Figure(
                f"backfill {files_n:,} files, C = {in_flight}: wall",
                backfill.wall_s,
                note=(
                    f"E = {backfill.efficiency:.3f}; CPU {cpu_ms:.1f} ms/file{server_note};"
                    f" high-water {backfill.measured.high_water}/{in_flight};"
                    f" {backfill.runs} runs"
                ),
            )
        )
    return figures


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=50_000, help="library size (default 50000)")
    parser.add_argument(
        "--storage", default="sqlite,postgres", help="storages to measure, comma-separated"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to create databases next to (default: a"
        " throwaway local server)",
    )  # fmt: skip
    parser.add_argument("--backfill-files", type=int, default=1000)
    parser.add_argument("--backfill-in-flight", type=int, default=100)
    parser.add_argument("--backfill-latency", default="1:3", help="simulated job seconds MIN:MAX")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = parser.parse_args(argv)
    count = args.files
    storages = [name.strip() for name in args.storage.split(",") if name.strip()]
    warn_if_other_benches_run()
    root = Path(tempfile.mkdtemp(prefix="media_assets_scale_"))
    results: dict[str, list[Figure]] = {}
    with ExitStack() as stack:
        try:
            folder = root / "library"
            os.environ["MEDIA_ASSETS_WATCH_DIR"] = str(folder)
            os.environ.pop("MEDIA_ASSETS_SENSOR_MAX_KEYS", None)
            os.environ.pop("MEDIA_ASSETS_FILES_PER_RUN", None)
            _, t_make = timed(lambda: make_library(folder, count))
            print(f"{count:,} files in {folder} made in {t_make:.1f}s (not timed)", flush=True)
            for name in storages:
                if name == "sqlite":
                    storage = Storage("sqlite")
                elif name == "postgres" and args.database_url:
                    storage = Storage("postgres", server_url=args.database_url)
                elif name == "postgres":
                    from media_assets.postgres.scratch_server import ScratchPostgres

                    server = stack.enter_context(ScratchPostgres())
                    storage = Storage("postgres", server.url, server.postmaster_pid())
                else:
                    parser.error(f"unknown storage {name!r}")
                results[name] = suite(root, folder, count, storage, args)
        finally:
            if args.keep:
                print(f"kept {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)

    for name, figures in results.items():
        print()
        print(f"bench/scale.py --files {count}  (Dagster {dg.__version__}, {name} storage)")
        print(f"{'measure':<48} {'seconds':>8}  {'target':<18} {'met':<4} note")
        for figure in figures:
            seconds = f"{figure.seconds:8.2f}"
            met = "-" if figure.met is None else ("yes" if figure.met else "NO")
            print(f"{figure.name:<48} {seconds:>8}  {figure.target:<18} {met:<4} {figure.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
