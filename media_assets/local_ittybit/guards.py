"""What happens to a request before it reaches a handler: counting, auth, rate limit, faults.

Order: count the request under its route template; check the bearer key (all routes but
``/_local/health`` and ``/files/``); then, for the API routes only (``/jobs``, ``/tasks``), apply
the simulated rate limit and injected server errors. Faults are injected before the handler runs,
so a failed request never had an effect. ``/_local/*`` and ``/files/*`` are never throttled or
failed on purpose, so tests and downloads can always look.
"""

from __future__ import annotations

import hmac
import math
import random
from collections.abc import Sequence

from aiolimiter import AsyncLimiter
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import ServiceConfig
from .errors import error_response
from .stats import Stats

_OPEN_PATHS = ("/_local/health", "/files/")
_API_PREFIXES = ("/jobs", "/tasks")


class GuardMiddleware:
    """Pure ASGI middleware, so it adds next to nothing to each request."""

    def __init__(
        self, app: ASGIApp, *, config: ServiceConfig, stats: Stats, routes: Sequence[BaseRoute]
    ) -> None:
        self._app = app
        self._config = config
        self._stats = stats
        self._routes = routes
        self._limiter = _limiter(config.rate_limit) if config.rate_limit else None
        seed = None if config.seed is None else f"errors-{config.seed}"
        self._fault_rng = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        self._stats.count_request(f"{scope['method']} {self._route_template(scope)}")

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._stats.count_response(int(message["status"]))
            await send(message)

        refusal = await self._refusal(scope, path)
        if refusal is not None:
            await refusal(scope, receive, counting_send)
            return
        await self._app(scope, receive, counting_send)

    async def _refusal(self, scope: Scope, path: str) -> ASGIApp | None:
        api_key = self._config.api_key
        if api_key is not None and not path.startswith(_OPEN_PATHS):
            refusal = _auth_refusal(scope, api_key)
            if refusal is not None:
                return refusal
        if not path.startswith(_API_PREFIXES):
            return None
        if self._limiter is not None:
            # Refuse rather than queue: a real API answers 429 at once, and acquire() would wait.
            if not self._limiter.has_capacity():
                return _rate_limited(self._limiter)
            await self._limiter.acquire()  # returns at once: the capacity is there
        if self._config.error_rate and self._fault_rng.random() < self._config.error_rate:
            status = self._fault_rng.choice((500, 503))
            return error_response(status, "internal_error", "injected server error (error rate)")
        return None

    def _route_template(self, scope: Scope) -> str:
        partial: BaseRoute | None = None
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "(unmatched)"))
            if match is Match.PARTIAL and partial is None:
                partial = route  # right path, wrong method
        return str(getattr(partial, "path", "(unmatched)"))


def _limiter(rate: float) -> AsyncLimiter:
    """``rate`` requests per second on average, with bursts of up to one second's worth."""
    burst = max(1.0, rate)
    return AsyncLimiter(burst, time_period=burst / rate)


def _rate_limited(limiter: AsyncLimiter) -> ASGIApp:
    rate = limiter.max_rate / limiter.time_period
    # Draining one request's worth always makes room again, so this wait is never too short.
    retry_after = str(max(1, math.ceil(1 / rate)))
    return error_response(
        429,
        "rate_limited",
        f"more than {rate:g} requests per second; retry after {retry_after} s",
        {"Retry-After": retry_after},
    )


def _auth_refusal(scope: Scope, api_key: str) -> ASGIApp | None:
    header = ""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value.decode("latin-1")
            break
    scheme, _, token = header.partition(" ")
    headers = {"WWW-Authenticate": "Bearer"}
    if not header or scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "token_missing", "send Authorization: Bearer <api key>", headers)
    if not hmac.compare_digest(token.strip().encode(), api_key.encode()):
        return error_response(401, "token_invalid", "the API key is not valid", headers)
    return None
