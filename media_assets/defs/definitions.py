"""Everything Dagster loads, assembled in one place from the product's settings."""

from __future__ import annotations

import dagster as dg

from media_assets.defs.batch_manifest import batch_manifest
from media_assets.defs.manifest_sensor import build_manifest_sensor
from media_assets.defs.media_pipeline import build_media_pipeline
from media_assets.defs.resources import ittybit_resource
from media_assets.defs.sensors import build_new_uploads_sensor
from media_assets.results import pipeline_stages
from media_assets.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    stages = pipeline_stages(adaptive_video=settings.adaptive_video)
    return dg.Definitions(
        assets=[
            build_media_pipeline(
                files_per_run=settings.files_per_run,
                stages=stages,
                # The hosted API's outputs cannot be read here: no check rather than a guess.
                output_checks=not settings.uses_hosted_api,
            ),
            batch_manifest,
        ],
        sensors=[
            build_new_uploads_sensor(running=settings.sensor_running, stages=stages),
            build_manifest_sensor(),
        ],
        resources={"ittybit": ittybit_resource(settings)},
        # One process per run, steps in it: far cheaper per run than a process per step.
        executor=dg.in_process_executor,
    )
