"""The ASGI application: routes, error rendering and the start/stop lifecycle."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .config import ServiceConfig
from .errors import ApiError, error_response
from .guards import GuardMiddleware
from .routes import files, jobs, local, tasks
from .service import Service

log = logging.getLogger(__name__)

_MAX_BODY_BYTES = 1 << 20
_HTTP_ERROR_KINDS = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def create_app(config: ServiceConfig) -> Starlette:
    """A ready-to-serve app; the service starts (and resumes old jobs) in its lifespan."""
    service = Service(config)
    routes = _routes(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, config=config, stats=service.stats, routes=routes)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
        max_body_size=_MAX_BODY_BYTES,
    )
    app.state.service = service
    return app


def _routes(config: ServiceConfig) -> list[BaseRoute]:
    """The API's routes, the outputs, and health; the local profile adds its own routes.

    The hosted profile serves exactly the routes Ittybit's reference lists (the outputs stand in
    for Ittybit's file storage, health lets the caller know it is up); anything else is a 404.
    """
    routes: list[BaseRoute] = [
        Route("/jobs", jobs.create_job, methods=["POST"]),
        Route("/jobs", jobs.list_jobs, methods=["GET"]),
        Route("/jobs/{job_id}", jobs.get_job, methods=["GET"]),
        Route("/tasks", tasks.create_task, methods=["POST"]),
        Route("/files/{file_path:path}", files.get_file, methods=["GET", "HEAD"]),
        Route("/_local/health", local.health, methods=["GET"]),
    ]
    if config.hosted:
        return routes
    return [
        *routes,
        Route("/tasks/{task_id}", tasks.get_task, methods=["GET"]),
        Route("/_local/stats", local.stats, methods=["GET"]),
        Route("/_local/stats/reset", local.reset_stats, methods=["POST"]),
        Route("/_local/jobs/{job_id}/cancel", local.cancel_job, methods=["POST"]),
        Route("/_local/roots", local.add_root, methods=["POST"]),
    ]


async def _api_error(_: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):
        raise exc
    return exc.response()


async def _http_error(_: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    kind = _HTTP_ERROR_KINDS.get(exc.status_code, "invalid_input")
    return error_response(exc.status_code, kind, str(exc.detail), exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", repr(exc))
