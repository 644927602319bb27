"""``POST /tasks`` (standalone probe) and ``GET /tasks/{id}``.

Only ``kind: probe`` is supported. The probe runs while the request waits, so the 201 already
carries the final status: ``succeeded`` with the File in ``output``, or ``failed`` with ``error``.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import jobs
from ..errors import ApiError, invalid_input
from ..idempotency import key_of, new_record, replayed_resource_id
from ..ids import now_ms
from ..inputs import check_input_url
from ..media import MediaError
from .common import read_json_object, service_of

log = logging.getLogger(__name__)


async def create_task(request: Request) -> Response:
    service = service_of(request)
    body = await read_json_object(request)
    key = key_of(request)
    if key is not None:
        replayed_id = replayed_resource_id(service.store, "tasks", key, body)
        replayed = service.store.get_task(replayed_id) if replayed_id else None
        if replayed is not None:
            return JSONResponse(replayed, 200)
    if body.get("kind") != "probe":
        raise invalid_input("only kind 'probe' tasks are supported by the local service")
    try:
        url = check_input_url(_input_url(body.get("input")), service.config)
    except MediaError as exc:
        raise ApiError(400, exc.kind, exc.message) from exc

    task = jobs.new_task("probe", jobs.external_file(url), {}, "processing")
    task["started_at"] = task["created_at"]
    try:
        output = await service.engine.probe(url)
    except MediaError as exc:
        task.update(status="failed", error={"kind": exc.kind, "message": exc.message})
    except Exception as exc:
        log.exception("probing %s failed unexpectedly", url)
        task.update(status="failed", error={"kind": "internal_error", "message": repr(exc)})
    else:
        task.update(status="succeeded", progress=100, output=output)
    finished = now_ms()
    task.update(finished_at=finished, updated_at=finished)
    # Replay of a key that another request stored while this probe ran returns the first task.
    if key is not None:
        replayed_id = replayed_resource_id(service.store, "tasks", key, body)
        replayed = service.store.get_task(replayed_id) if replayed_id else None
        if replayed is not None:
            return JSONResponse(replayed, 200)
    service.store.insert_task(task, new_record("tasks", key, body, task["id"]) if key else None)
    return JSONResponse(task, 201)


async def get_task(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    task = service_of(request).store.get_task(task_id)
    if task is None:
        raise ApiError(404, "task_not_found", f"no task with id {task_id}")
    return JSONResponse(task)


def _input_url(task_input: Any) -> Any:
    # Ittybit takes {"url": ...} (or a File object, which also has "url"); a bare URL is accepted.
    if isinstance(task_input, dict):
        return task_input.get("url")
    return task_input
