"""``python -m media_assets.local_ittybit [flags]``: run the local Ittybit-compatible service."""

from __future__ import annotations

from .cli import add_arguments, config_from_args, main

__all__ = ["add_arguments", "config_from_args", "main"]

if __name__ == "__main__":
    main()
