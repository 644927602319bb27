"""Local-only extensions under ``/_local/``; real Ittybit has none of these.

``GET /_local/health``, ``GET /_local/stats``, ``POST /_local/stats/reset`` and
``POST /_local/jobs/{id}/cancel``.
"""

from __future__ import annotations

import os
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import ApiError
from ..jobs import JOB_STATUSES
from .common import service_of


async def health(request: Request) -> Response:
    service = service_of(request)
    return JSONResponse(
        {
            "status": "ok",
            "engine": service.config.engine,
            "pid": os.getpid(),
            "uptime_s": _uptime(request),
        }
    )


async def stats(request: Request) -> Response:
    service = service_of(request)
    counts = service.repository.count_by_status()
    by_status = {status: counts.get(status, 0) for status in JOB_STATUSES}
    return JSONResponse(
        {
            "engine": service.config.engine,
            "workers": service.config.effective_workers,
            "uptime_s": _uptime(request),
            "jobs": {**by_status, "total": sum(counts.values())},
            **service.stats.snapshot(),
        }
    )


async def reset_stats(request: Request) -> Response:
    service_of(request).stats.reset()
    return await stats(request)


async def cancel_job(request: Request) -> Response:
    """Cancel a queued or processing job; a finished job is returned unchanged."""
    service = service_of(request)
    job_id = request.path_params["job_id"]
    if service.repository.get(job_id) is None:
        raise ApiError(404, "job_not_found", f"no job with id {job_id}")
    service.scheduler.cancel(job_id)
    return JSONResponse(service.repository.get(job_id))


def _uptime(request: Request) -> float:
    return round(time.monotonic() - service_of(request).started_monotonic, 3)
