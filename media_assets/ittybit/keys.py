"""Idempotency keys: the same request parts always give the same key, of a length Ittybit takes.

Ittybit accepts ``Idempotency-Key`` values of 16 to 32 characters and, for a key it has seen in
the last 24 hours, replays the original response instead of creating another job.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 32


def idempotency_key(*parts: Any) -> str:
    """A 32-character key derived from ``parts`` (JSON-canonicalised, so dict order is irrelevant).

    However many parts there are and however long (a forced run's token included), the key is a
    digest of them, so it always fits the documented length.
    """
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:MAX_KEY_LENGTH]


def checked_key(key: str) -> str:
    """``key`` if its length is one Ittybit accepts, else ``ValueError`` (nothing is sent)."""
    if not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(
            f"an Idempotency-Key must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters, "
            f"not {len(key)}: derive one with idempotency_key(...)"
        )
    return key
