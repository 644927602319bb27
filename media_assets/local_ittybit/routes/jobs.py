"""``POST /jobs``, ``GET /jobs/{id}`` and ``GET /jobs``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..advertise import extension_headers
from ..buckets import bucket_path, check_s3_url
from ..config import ServiceConfig
from ..errors import ApiError, invalid_input
from ..idempotency import key_of, new_record, replayed_resource_id
from ..inputs import check_input_url
from ..jobs import JOB_KINDS, JOB_STATUSES, Json, new_job
from ..media import MediaError, validate_options
from ..service import Service
from .common import read_json_object, service_of

_DEFAULT_LIMIT, _MAX_LIMIT = 20, 100


async def create_job(request: Request) -> Response:
    service = service_of(request)
    body = await read_json_object(request)
    key = key_of(request, service.config)
    headers = extension_headers(service.config)
    # No await from here on: checking the key and storing the job happen as one step.
    if key is not None:
        replayed_id = replayed_resource_id(service.store, "jobs", key, body, service.config)
        replayed = service.repository.get(replayed_id) if replayed_id else None
        if replayed is not None:
            return JSONResponse(_shown(service, replayed), 200, headers=headers)
    job = new_job(**_job_fields(body, service.config))
    service.repository.create(job, new_record("jobs", key, body, job["id"]) if key else None)
    # Render before submitting: a free slot would start the job at once, yet it was created queued.
    response = JSONResponse(_shown(service, job), 201, headers=headers)
    service.scheduler.submit(job["id"])
    return response


async def get_job(request: Request) -> Response:
    """One job; with ``?wait=S`` (a local extension) held until it is terminal or S seconds pass.

    Real Ittybit has no such parameter, so clients use it only where it is advertised (see
    ``advertise``); the hosted profile ignores it, as an API does an unknown parameter.
    """
    service = service_of(request)
    job_id = request.path_params["job_id"]
    if service.repository.get(job_id) is None:
        raise ApiError(404, "job_not_found", f"no job with id {job_id}")
    wait = _wait_seconds(request.query_params.get("wait"), service.config.held_wait_max)
    if wait > 0:
        await service.scheduler.wait_until_terminal(job_id, wait)
    job = service.repository.get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job with id {job_id}")
    return JSONResponse(_shown(service, job), headers=extension_headers(service.config))


def _wait_seconds(raw: str | None, max_wait: float) -> float:
    if raw is None or max_wait <= 0:
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        raise invalid_input("wait must be a number of seconds") from None
    if not 0 <= wait < float("inf"):
        raise invalid_input("wait must be a number of seconds, 0 or more")
    return min(wait, max_wait)


async def list_jobs(request: Request) -> Response:
    service = service_of(request)
    query = request.query_params
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_input("order must be asc or desc")
    filters = _filters(query.get("kind"), query.get("status"), query.get("input"))
    after, before = query.get("after") or None, query.get("before") or None
    descending = order == "desc"

    def fetch(cursor_after: str | None, cursor_before: str | None, reverse: bool) -> list[Json]:
        # "after" means further along the chosen order, so for desc it is a smaller id.
        low, high = (cursor_before, cursor_after) if descending else (cursor_after, cursor_before)
        return service.repository.select(
            filters=filters,
            above_id=low,
            below_id=high,
            descending=descending != reverse,
            limit=limit + 1,
        )

    links: list[str] = []
    params = {k: v for k, v in query.items() if k not in ("after", "before")}
    params["limit"] = str(limit)
    if before is not None and after is None:
        # Paging backwards: take the page just before the cursor, then show it in order.
        rows = fetch(None, before, reverse=True)
        has_previous = len(rows) > limit
        page = list(reversed(rows[:limit]))
        if has_previous and page:
            links.append(_link(service.config, {**params, "before": page[0]["id"]}, "prev"))
        has_more = bool(page) and bool(fetch(page[-1]["id"], None, reverse=False))
    else:
        rows = fetch(after, before, reverse=False)
        has_more = len(rows) > limit
        page = rows[:limit]
    if has_more and page:
        links.insert(0, _link(service.config, {**params, "after": page[-1]["id"]}, "next"))
    headers = {"Has-More": "true" if has_more else "false", "Limit": str(limit)}
    if links:
        headers["Link"] = ", ".join(links)
    return JSONResponse([_shown(service, job) for job in page], headers=headers)


def _shown(service: Service, job: Json) -> Json:
    if job["status"] == "processing":
        service.scheduler.refresh_progress(job["id"])
    if service.config.hosted:
        # Ittybit's job object reports progress per task only.
        return {name: value for name, value in job.items() if name != "progress"}
    return job


def _job_fields(body: Json, config: ServiceConfig) -> dict[str, Any]:
    kind = body.get("kind")
    if kind not in JOB_KINDS:
        raise invalid_input(f"kind must be one of {', '.join(JOB_KINDS)}")
    options = body.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise invalid_input("options must be an object")
    if "quality" in body and "quality" not in options:
        # Some Ittybit examples put quality at the top level; it belongs in options.
        options = {**options, "quality": body["quality"]}
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise invalid_input("metadata must be an object")
    output = body.get("output")
    try:
        input_url = check_input_url(body.get("input"), config)
        normalised = validate_options(kind, options)
        if output is not None:
            output = check_s3_url(output, "output")
            bucket_path(output, config)  # refuses a key that would leave its bucket
    except MediaError as exc:
        raise ApiError(400, exc.kind, exc.message) from exc
    return {
        "kind": kind,
        "input_url": input_url,
        "options": normalised,
        "metadata": metadata,
        "output": output,
    }


def _limit(raw: str | None) -> int:
    if raw is None:
        return _DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_LIMIT:
        raise invalid_input(f"limit must be an integer from 1 to {_MAX_LIMIT}")
    return limit


def _filters(kind: str | None, status: str | None, input_url: str | None) -> dict[str, str]:
    filters: dict[str, str] = {}
    if kind is not None:
        if kind not in JOB_KINDS:
            raise invalid_input(f"unknown kind filter {kind!r}")
        filters["kind"] = kind
    if status is not None:
        if status not in JOB_STATUSES:
            raise invalid_input(f"status must be one of {', '.join(JOB_STATUSES)}")
        filters["status"] = status
    if input_url is not None:
        filters["input"] = input_url
    return filters


def _link(config: ServiceConfig, params: dict[str, str], rel: str) -> str:
    return f'<{config.base_url}/jobs?{urlencode(params)}>; rel="{rel}"'
