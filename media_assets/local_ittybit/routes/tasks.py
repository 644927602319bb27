"""``POST /tasks`` (standalone tasks) and ``GET /tasks/{id}``.

Local profile: only ``kind: probe`` is supported. The probe runs while the request waits, so the
201 already carries the final status: ``succeeded`` with the File in ``output``, or ``failed``
with ``error``; ``GET /tasks/{id}`` reads it back (a local route: Ittybit documents no way to
read a standalone task).

Hosted profile: as Ittybit documents, any task kind is taken and answered ``201`` with status
``waiting``. Nothing can read a standalone task back there, so it is recorded and not run.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import jobs
from ..buckets import check_s3_url
from ..config import ServiceConfig
from ..errors import ApiError, invalid_input
from ..idempotency import key_of, new_record, replayed_resource_id
from ..ids import now_ms
from ..inputs import check_input_url
from ..media import MediaError, validate_options
from .common import read_json_object, service_of

log = logging.getLogger(__name__)


# The kinds of POST /tasks in Ittybit's reference.
HOSTED_TASK_KINDS = (
    "probe",
    "import",
    "video",
    "audio",
    "image",
    "animation",
    "adaptive_video",
    "export",
)


async def create_task(request: Request) -> Response:
    service = service_of(request)
    body = await read_json_object(request)
    key = key_of(request, service.config)
    if key is not None:
        replayed_id = replayed_resource_id(service.store, "tasks", key, body, service.config)
        replayed = service.store.get_task(replayed_id) if replayed_id else None
        if replayed is not None:
            return JSONResponse(replayed, 200)
    if service.config.hosted:
        task = _waiting_task(body, service.config)
        service.store.insert_task(task, new_record("tasks", key, body, task["id"]) if key else None)
        return JSONResponse(task, 201)
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
        replayed_id = replayed_resource_id(service.store, "tasks", key, body, service.config)
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


def _waiting_task(body: jobs.Json, config: ServiceConfig) -> jobs.Json:
    """A task as Ittybit answers its creation: checked, normalised, ``waiting``."""
    kind = body.get("kind")
    if kind not in HOSTED_TASK_KINDS:
        raise invalid_input(f"kind must be one of {', '.join(HOSTED_TASK_KINDS)}")
    task_input = body.get("input")
    if not isinstance(task_input, dict):
        raise invalid_input("input must be an object (a URL for probe and import, else a File)")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise invalid_input("options must be an object")
    try:
        url = check_input_url(task_input.get("url"), config)
        if kind == "export":
            options = {**options, "url": check_s3_url(options.get("url"), "options.url")}
        elif kind not in ("probe", "import"):
            options = validate_options(str(kind), options)
    except MediaError as exc:
        raise ApiError(400, exc.kind, exc.message) from exc
    if kind in ("probe", "import"):
        task_input = jobs.external_file(url)
    return jobs.new_task(str(kind), task_input, options, "waiting")


def _input_url(task_input: Any) -> Any:
    # Ittybit takes {"url": ...} (or a File object, which also has "url"); a bare URL is accepted.
    if isinstance(task_input, dict):
        return task_input.get("url")
    return task_input
