"""Idempotency-Key handling for POST endpoints.

A key remembers which resource it created and a hash of the request body. Within 24 hours the
same key with the same body replays the original resource (HTTP 200); with a different body it is
refused with ``idempotency_key_reused`` — a permanent error, since retrying cannot fix it. After
24 hours the key is free again.

The hosted profile holds keys to Ittybit's documented length, 16 to 32 characters, and answers a
reused key with 400 (the status codes Ittybit documents have no 409 or 422); the local profile
takes keys of up to 255 characters and answers 422.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from .config import ServiceConfig
from .errors import ApiError, invalid_input
from .ids import now_ms
from .store import IdempotencyRecord, Store

KEY_TTL_MS = 24 * 60 * 60 * 1000
MAX_KEY_LENGTH = 255
HOSTED_KEY_LENGTHS = (16, 32)
HEADER = "idempotency-key"


def key_of(request: Request, config: ServiceConfig) -> str | None:
    """The request's Idempotency-Key, or None when it sent none."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    shortest, longest = HOSTED_KEY_LENGTHS if config.hosted else (1, MAX_KEY_LENGTH)
    if not shortest <= len(key) <= longest:
        raise invalid_input(f"Idempotency-Key must be {shortest} to {longest} characters")
    return key


def body_hash(body: Any) -> str:
    # Canonical JSON, so key order and whitespace do not make "the same body" different.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed_resource_id(
    store: Store, scope: str, key: str, body: Any, config: ServiceConfig
) -> str | None:
    """The id a live key already created for this body; raises if the body differs."""
    record = store.find_key(scope, key)
    if record is None or now_ms() - record.created_at > KEY_TTL_MS:
        return None
    if record.body_hash != body_hash(body):
        raise ApiError(
            400 if config.hosted else 422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    return record.resource_id


def new_record(scope: str, key: str, body: Any, resource_id: str) -> IdempotencyRecord:
    return IdempotencyRecord(scope, key, body_hash(body), resource_id, now_ms())
