"""Sortable resource ids and Unix-millisecond clocks.

Ids are ULID-like: 48 bits of milliseconds then 80 random bits, in lowercase Crockford base32,
so sorting ids sorts by creation time. That is what makes ``after``/``before`` cursors and
``order`` on ``GET /jobs`` a plain ``ORDER BY id``.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # ascending in ASCII, so text order is numeric order
_RANDOM_BITS = 80
_ID_CHARS = 26


def now_ms() -> int:
    """Current wall-clock time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


class _MonotonicUlid:
    """Strictly increasing ids even when many are made within one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next_value(self) -> int:
        with self._lock:
            candidate = (now_ms() << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
            # Same millisecond (or a clock step back): continue from the last id instead.
            if candidate <= self._last:
                candidate = self._last + 1 + secrets.randbits(16)
            self._last = candidate
            return candidate


_generator = _MonotonicUlid()


def _encode(value: int) -> str:
    chars = []
    for _ in range(_ID_CHARS):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A fresh id such as ``job_01h455vb4pex5vsknk084sn02q``."""
    return f"{prefix}_{_encode(_generator.next_value())}"
