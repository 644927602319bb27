"""``python -m media_assets.local_ittybit [flags]``: run the local Ittybit-compatible service."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .cli import add_arguments, config_from_args
from .server import serve

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m media_assets.local_ittybit",
        description="Local Ittybit-compatible jobs API (ffmpeg or simulate engine).",
    )
    add_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        parser.error(str(exc))
    serve(config)


if __name__ == "__main__":
    main()
