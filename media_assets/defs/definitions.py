"""Everything Dagster loads, assembled in one place."""

from __future__ import annotations

import dagster as dg

from media_assets.defs.manifest import batch_manifest
from media_assets.defs.pipeline import media_pipeline
from media_assets.defs.resources import ittybit_from_env
from media_assets.defs.sensors import new_uploads


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[media_pipeline, batch_manifest],
        sensors=[new_uploads],
        resources={"ittybit": ittybit_from_env()},
        # One process per run, steps in it: a run per file costs 4x less than multiprocess.
        executor=dg.in_process_executor,
    )
