"""The Dagster code location of media_assets (``dagster dev -m media_assets.definitions``)."""

from media_assets.defs.definitions import build_definitions
from media_assets.settings import load_settings

defs = build_definitions(load_settings())
