"""The Dagster code location of media_assets (``dagster dev -m media_assets.definitions``)."""

import stamina.instrumentation

from media_assets.defs.definitions import build_definitions
from media_assets.settings import load_settings

# The client logs every retry and the pipeline records it in the run's events; stamina's own
# structlog hook would print each one a second time on the run's stdout.
stamina.instrumentation.set_on_retry_hooks([])

defs = build_definitions(load_settings())
