"""Idempotency-Key handling for POST endpoints.

A key remembers which resource it created and a hash of the request body. Within 24 hours the
same key with the same body replays the original resource (HTTP 200); with a different body it is
refused with 422 ``idempotency_key_reused`` — a permanent error, since retrying cannot fix it.
After 24 hours the key is free again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from .errors import ApiError, invalid_input
from .ids import now_ms
from .store import IdempotencyRecord, Store

KEY_TTL_MS = 24 * 60 * 60 * 1000
MAX_KEY_LENGTH = 255
HEADER = "idempotency-key"


def key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, or None when it sent none."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise invalid_input(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def body_hash(body: Any) -> str:
    # Canonical JSON, so key order and whitespace do not make "the same body" different.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed_resource_id(store: Store, scope: str, key: str, body: Any) -> str | None:
    """The id a live key already created for this body; raises if the body differs."""
    record = store.find_key(scope, key)
    if record is None or now_ms() - record.created_at > KEY_TTL_MS:
        return None
    if record.body_hash != body_hash(body):
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    return record.resource_id


def new_record(scope: str, key: str, body: Any, resource_id: str) -> IdempotencyRecord:
    return IdempotencyRecord(scope, key, body_hash(body), resource_id, now_ms())
