"""``batch_manifest``: the DuckDB manifest, built from the event log by its only writer.

Per-file results live in Dagster's event log; this asset reads the latest result of every
(stage, file) and rewrites ``$MEDIA_ASSETS_HOME/manifest.duckdb`` in one go. It runs in the pool
``duckdb_writer`` (limit 1), so two of them never write the file at once.
"""

from collections.abc import Iterator

import dagster as dg

from media_assets.defs.latest_results import latest_results
from media_assets.defs.partitions import MEDIA_FILES
from media_assets.instance.connections import keep_connections_open
from media_assets.manifest.queries import read_summary
from media_assets.manifest.writer import write_manifest
from media_assets.registry import default_registry
from media_assets.results import ALL_STAGES, MediaResult, ResultStatus, pipeline_stages
from media_assets.settings import load_settings

MANIFEST_POOL = "duckdb_writer"


def collect_results(instance: dg.DagsterInstance) -> Iterator[MediaResult]:
    """One result per registered file and stage: the latest recorded, else ``pending``.

    The stages are the library's: the contract's four, plus optional ones it turned on.
    """
    keys = instance.get_dynamic_partitions(MEDIA_FILES)
    sources = default_registry().get_many(keys)
    for stage in pipeline_stages(adaptive_video=load_settings().adaptive_video):
        recorded = latest_results(instance, stage)
        for key in keys:
            result = recorded.get(key)
            if result is None:
                result = MediaResult(
                    partition_key=key,
                    source_uri=sources[key].uri if key in sources else key,
                    stage=stage,
                    status=ResultStatus.PENDING,
                )
            yield result


@dg.asset(
    name="batch_manifest",
    group_name="media",
    deps=[str(stage) for stage in ALL_STAGES],
    pool=MANIFEST_POOL,
    kinds={"duckdb"},
)
def batch_manifest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Per-file results and totals of the whole library, as a DuckDB file you can query."""
    path = load_settings().manifest_path
    keep_connections_open(context.instance)  # reads the latest event of every file and stage
    written = write_manifest(path, collect_results(context.instance))
    summary = read_summary(path)
    columns = [dg.TableColumn(name, "string" if name == "stage" else "int") for name in summary[0]]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "dagster/row_count": written.rows,
            "summary": dg.MetadataValue.table(
                records=[dg.TableRecord(row) for row in summary],
                schema=dg.TableSchema(columns=columns),
            ),
        }
    )
