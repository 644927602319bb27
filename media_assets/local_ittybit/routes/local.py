"""Local-only extensions under ``/_local/``; real Ittybit has none of these.

``GET /_local/health``, ``GET /_local/stats``, ``POST /_local/stats/reset``,
``POST /_local/jobs/{id}/cancel`` and ``POST /_local/roots``.
"""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path

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
            "compat": service.config.compat,
            "pid": os.getpid(),
            "uptime_s": _uptime(request),
            "allow_roots": [str(root) for root in service.config.readable_roots],
            "output_dir": str(service.config.files_dir),
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


async def add_root(request: Request) -> Response:
    """Let ``file://`` inputs come from one more folder: ``{"path": "/absolute/folder"}``.

    Only a client on this machine may ask: the service reads the files it is given with the
    rights of its own user, so the folders it reads are for local users to choose.
    """
    service = service_of(request)
    client = request.client.host if request.client else ""
    if not _is_loopback(client):
        raise ApiError(403, "forbidden", "folders can only be added from this machine")
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "invalid_json", "the body must be JSON") from None
    raw = body.get("path") if isinstance(body, dict) else None
    if not isinstance(raw, str) or not raw.startswith("/") or "\x00" in raw:
        raise ApiError(400, "invalid_path", "path must be an absolute folder path")
    folder = Path(raw).resolve()
    if not folder.is_dir():
        raise ApiError(400, "invalid_path", f"{folder} is not a folder")
    added = service.config.added_roots.add(folder)
    return JSONResponse(
        {
            "path": str(folder),
            "added": added,
            "allow_roots": [str(root) for root in service.config.readable_roots],
        },
        status_code=201 if added else 200,
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
