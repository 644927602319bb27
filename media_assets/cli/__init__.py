"""The ``media-assets`` command."""

from media_assets.cli.main import main

__all__ = ["main"]
