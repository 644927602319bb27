"""The ``media-assets`` command.

``main`` imports the command's modules when called, so running a helper module of this package
(``python -m media_assets.cli.tether``) does not import it first.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from media_assets.cli.main import main as run

    return run(argv)


__all__ = ["main"]
