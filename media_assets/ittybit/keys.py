"""Idempotency keys: the same request parts always give the same key."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def idempotency_key(*parts: Any) -> str:
    """A 32-character key derived from ``parts`` (JSON-canonicalised, so dict order is irrelevant).

    Ittybit accepts keys of 16-32 characters and replays the original job for a key it has seen
    in the last 24 hours.
    """
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
