"""The Dagster code location of media_assets (``dagster dev -m media_assets.definitions``)."""

from media_assets.defs.definitions import build_definitions

defs = build_definitions()
