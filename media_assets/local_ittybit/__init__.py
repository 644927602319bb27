"""A local service speaking Ittybit's jobs API, so the product runs without a key or a network.

Endpoints (the subset of https://api.ittybit.com the project uses):

- ``POST /jobs`` — create a job (201; an ``Idempotency-Key`` replay within 24 h returns the
  original job with 200; the same key with another body is 422 ``idempotency_key_reused``). A
  job runs probe, import, encode and export; ``output: s3://bucket/key`` delivers the result to
  a stand-in bucket under the data dir.
- ``GET /jobs/{id}`` — one job (404 ``job_not_found``).
- ``GET /jobs`` — cursor pages (``limit`` 1 to 100, ``after``, ``before``, ``order``, ``kind``,
  ``status``, ``input``) with ``Has-More``, ``Limit`` and ``Link: <...>; rel="next"`` headers.
- ``POST /tasks`` — a standalone ``probe`` task; ``GET /tasks/{id}`` reads it back (local only).
- ``GET /files/{path}`` — job outputs, from the output folder (``--output-dir``).

Local-only extensions, absent from real Ittybit, all under ``/_local/``:

- ``GET /_local/health`` — liveness (never needs the API key).
- ``GET /_local/stats`` — jobs by status, requests by route, in-flight and high-water marks.
- ``POST /_local/stats/reset`` — start a new measurement window.
- ``POST /_local/jobs/{id}/cancel`` — cancel a queued or processing job.
- ``GET /jobs/{id}?wait=S`` — hold the answer until the job is terminal or S seconds pass (at
  most ``max_wait``, advertised as the ``Job-Wait-Max`` response header; 0 turns it off).

Responses of ``POST /jobs`` and ``GET /jobs/{id}`` advertise the extensions offered in a
``Local-Extensions`` header (see ``advertise``). ``--compat hosted`` serves what Ittybit's hosted
API documents and no more: none of the extensions but health, no advertisement, http(s)/s3
inputs, Idempotency-Keys of 16-32 characters, standalone tasks answered ``waiting``.

Errors are always ``{"kind", "message"}``. Engines: ``ffmpeg`` does the real media work;
``simulate`` only sleeps, with configurable latency and fault injection, for orchestration tests
and benchmarks. See ``docs/local-service.md``.
"""

from __future__ import annotations

from .app import create_app
from .cli import add_arguments, config_from_args
from .config import ServiceConfig
from .server import LocalService, RunningService, running_in_thread, serve

__all__ = [
    "LocalService",
    "RunningService",
    "ServiceConfig",
    "add_arguments",
    "config_from_args",
    "create_app",
    "running_in_thread",
    "serve",
]
