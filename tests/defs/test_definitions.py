"""The code location loads and has the shape the brief decided on."""

import dagster as dg

from media_assets.definitions import defs
from media_assets.defs.definitions import build_definitions
from media_assets.defs.partitions import MEDIA_FILES
from media_assets.settings import load_settings

STAGES = ("ingested", "thumbnail", "audio", "transcoded")
media_pipeline = defs.get_assets_def("ingested")


def test_definitions_validate_loadable() -> None:
    """Dagster's own load check accepts the code location."""
    dg.Definitions.validate_loadable(defs)


def test_asset_keys_exist() -> None:
    """The four stages and the manifest are assets of the code location."""
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert {dg.AssetKey(name) for name in (*STAGES, "batch_manifest")} <= keys


def test_pipeline_is_one_subsettable_multi_asset() -> None:
    """All four stages come from one multi-asset that can run any subset of them."""
    assert media_pipeline.keys == {dg.AssetKey(name) for name in STAGES}
    assert media_pipeline.can_subset
    graph = defs.resolve_asset_graph()
    for name in STAGES:
        assert graph.get(dg.AssetKey(name)).assets_def.op.name == "media_pipeline"


def test_downstream_stages_depend_on_ingested() -> None:
    """thumbnail, audio and transcoded read ingested; ingested reads nothing in the graph."""
    deps = media_pipeline.asset_deps
    assert deps[dg.AssetKey("ingested")] == set()
    for name in ("thumbnail", "audio", "transcoded"):
        assert deps[dg.AssetKey(name)] == {dg.AssetKey("ingested")}


def test_pipeline_is_partitioned_by_media_files() -> None:
    """The pipeline's partitions are the dynamic media_files partitions."""
    partitions_def = media_pipeline.partitions_def
    assert isinstance(partitions_def, dg.DynamicPartitionsDefinition)
    assert partitions_def.name == MEDIA_FILES


def test_pipeline_backfills_in_ranged_runs() -> None:
    """Backfills are chunked into ranged runs of several files (multi_run, more than one)."""
    policy = media_pipeline.backfill_policy
    assert policy is not None
    assert policy.max_partitions_per_run is not None
    assert policy.max_partitions_per_run > 1


def test_run_size_follows_the_settings() -> None:
    """The backfill policy's run size is the loading process's files_per_run setting."""
    settings = load_settings().model_copy(update={"files_per_run": 7})
    pipeline = build_definitions(settings).get_assets_def("ingested")
    assert pipeline.backfill_policy is not None
    assert pipeline.backfill_policy.max_partitions_per_run == 7


def test_runs_use_the_in_process_executor() -> None:
    """Asset jobs run their steps in one process (4x cheaper per run than multiprocess)."""
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def is dg.in_process_executor


def test_manifest_depends_on_every_stage() -> None:
    """batch_manifest is downstream of the four stages and is not partitioned."""
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("batch_manifest"))
    assert node.parent_keys == {dg.AssetKey(name) for name in STAGES}
    assert node.partitions_def is None


def test_ittybit_resource_is_bound() -> None:
    """The pipeline's ittybit resource is provided by the definitions."""
    assert "ittybit" in media_pipeline.required_resource_keys
    assert "ittybit" in (defs.resources or {})


def test_adaptive_video_is_absent_unless_turned_on() -> None:
    """Off (the default) the pipeline has the contract's four stages; on, adaptive_video too."""
    settings = load_settings()
    off = build_definitions(settings.model_copy(update={"adaptive_video": False}))
    on = build_definitions(settings.model_copy(update={"adaptive_video": True}))
    assert off.get_assets_def("ingested").keys == {dg.AssetKey(name) for name in STAGES}
    ladder = on.get_assets_def("ingested")
    assert ladder.keys == {dg.AssetKey(name) for name in (*STAGES, "adaptive_video")}
    assert ladder.asset_deps[dg.AssetKey("adaptive_video")] == {dg.AssetKey("ingested")}
