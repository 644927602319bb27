"""The one error the media layer raises.

It carries a kind Ittybit would use, and a message a user can act on.
"""

from __future__ import annotations


class MediaError(Exception):
    """Probing, validating or encoding failed. ``kind`` is an Ittybit error kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
