"""The async Ittybit client: jobs, probes, waiting, listing, cancelling.

    async with IttybitClient.from_env() as client:
        job = await client.create_job(input=url, kind=JobKind.VIDEO, options={"format": "mp4"},
                                      idempotency_key=key)
        done = await client.wait_for_job(job, timeout=600)

The same client speaks to the hosted API (``https://api.ittybit.com`` with ``ITTYBIT_API_KEY``) and
to the local Ittybit-compatible service (``ITTYBIT_BASE_URL``). Errors are described in
``media_assets.ittybit.errors``; retries in ``media_assets.ittybit.retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from media_assets.ittybit.config import (
    DEFAULT_BASE_URL,
    PollPolicy,
    RateLimit,
    RetryPolicy,
    Timeout,
    api_key_from_env,
    base_url_from_env,
)
from media_assets.ittybit.errors import (
    DeadlineExceeded,
    IttybitError,
    JobFailed,
    NotFoundError,
    TaskFailed,
    UnsupportedOperation,
)
from media_assets.ittybit.http import Secret, error_for_response, parse_next_link, transport_error
from media_assets.ittybit.models import File, Job, JobKind, JobStatus, Task
from media_assets.ittybit.polling import PollSchedule
from media_assets.ittybit.ratelimit import AsyncRateLimiter, RequestLimiter
from media_assets.ittybit.retry import RetryHook, call_with_retries


@dataclass
class RequestStats:
    """What one client has sent: every HTTP request, counted once per attempt."""

    requests: int = 0
    retries: int = 0
    by_route: Counter[str] = field(default_factory=Counter)


@dataclass
class JobStats:
    """Requests spent on one job (create, polls, retries), for benchmarks and metadata."""

    requests: int = 0
    retries: int = 0


@dataclass(frozen=True)
class JobResult:
    """A job that reached a terminal status, and what it cost to get there."""

    job: Job
    requests: int
    retries: int
    created: bool  # False when an Idempotency-Key replay re-attached to an existing job


class IttybitClient:
    """An ``httpx.AsyncClient``-based client for Ittybit's jobs API.

    **Parameters:**

    * **api_key** - *(optional)* the bearer token; never logged or shown in a repr.
    * **base_url** - *(optional)* defaults to ``https://api.ittybit.com``.
    * **timeout** - *(optional)* per-request ``Timeout``.
    * **retry** - *(optional)* ``RetryPolicy`` for retryable errors.
    * **poll** - *(optional)* ``PollPolicy`` for ``wait_for_job``.
    * **rate_limit** - *(optional)* ``RateLimit``: requests per second for this client.
    * **limiter** - *(optional)* a ``RequestLimiter`` awaited before every request instead of
      the one ``rate_limit`` makes (e.g. one shared by many processes).
    * **on_retry** - *(optional)* called with a ``RetryEvent`` before every retry.
    * **transport** - *(optional)* an httpx transport (tests, proxies).
    * **max_connections** - *(optional)* size of the connection pool.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: Timeout = Timeout(),
        retry: RetryPolicy = RetryPolicy(),
        poll: PollPolicy = PollPolicy(),
        rate_limit: RateLimit | None = None,
        limiter: RequestLimiter | None = None,
        on_retry: RetryHook | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = Secret(api_key) if api_key else None
        self.retry = retry
        self.poll = poll
        self._on_retry = on_retry
        if limiter is None and rate_limit is not None:
            limiter = AsyncRateLimiter(rate_limit)
        self._limiter = limiter
        self.stats = RequestStats()
        self._read_timeout = timeout.read
        # Seconds the server offers to hold GET /jobs/{id}?wait=, from its Job-Wait-Max header.
        self._server_wait_max = 0.0
        headers = {"Accept": "application/json", "User-Agent": "media-assets"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(
                connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
            ),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> Self:
        """A client configured from ``ITTYBIT_API_KEY`` and ``ITTYBIT_BASE_URL``."""
        kwargs.setdefault("api_key", api_key_from_env())
        kwargs.setdefault("base_url", base_url_from_env())
        return cls(**kwargs)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"IttybitClient(base_url={self.base_url!r}, api_key={key})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- requests ---------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        job_stats: JobStats | None = None,
    ) -> httpx.Response:
        request = f"{method} {route}"

        async def attempt() -> httpx.Response:
            if self._limiter is not None:
                await self._limiter.acquire()
            self.stats.requests += 1
            self.stats.by_route[request] += 1
            if job_stats is not None:
                job_stats.requests += 1
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.HTTPError as error:
                raise transport_error(request, error) from None
            if response.is_error:
                raise error_for_response(request, response)
            return response

        def on_retry(event: Any) -> None:
            self.stats.retries += 1
            if job_stats is not None:
                job_stats.retries += 1
            if self._on_retry is not None:
                self._on_retry(event)

        return await call_with_retries(request, attempt, policy=self.retry, on_retry=on_retry)

    # -- jobs -------------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        input: str,
        kind: JobKind | str,
        options: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        job_stats: JobStats | None = None,
    ) -> Job:
        """``POST /jobs``. Retried safely: without a key, one is made for this call."""
        job, _ = await self._create_job(
            input=input,
            kind=kind,
            options=options,
            metadata=metadata,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
            job_stats=job_stats,
        )
        return job

    async def _create_job(
        self,
        *,
        input: str,
        kind: JobKind | str,
        options: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        webhook_url: str | None,
        idempotency_key: str | None,
        job_stats: JobStats | None,
    ) -> tuple[Job, bool]:
        body: dict[str, Any] = {"input": input, "kind": str(kind), "options": dict(options or {})}
        if metadata:
            body["metadata"] = dict(metadata)
        if webhook_url:
            body["webhook_url"] = webhook_url
        key = idempotency_key or uuid.uuid4().hex
        response = await self._send(
            "POST",
            "/jobs",
            route="/jobs",
            json=body,
            headers={"Idempotency-Key": key},
            job_stats=job_stats,
        )
        self._note_server_wait(response)
        # 200 means the key was seen before: we re-attached to the job it created.
        return Job.model_validate(response.json()), response.status_code == 200

    async def get_job(
        self, job_id: str, *, wait: float | None = None, job_stats: JobStats | None = None
    ) -> Job:
        """``GET /jobs/{id}``.

        ``wait`` (seconds) asks the server to answer only once the job is terminal or that time
        has passed; only servers that send ``Job-Wait-Max`` (the local service) honour it.
        """
        params = {"wait": f"{wait:g}"} if wait else None
        response = await self._send(
            "GET", f"/jobs/{job_id}", route="/jobs/{id}", params=params, job_stats=job_stats
        )
        self._note_server_wait(response)
        return Job.model_validate(response.json())

    def _note_server_wait(self, response: httpx.Response) -> None:
        try:
            offered = float(response.headers.get("job-wait-max", "0"))
        except ValueError:
            offered = 0.0
        self._server_wait_max = offered if offered > 0 else 0.0

    async def list_jobs(
        self,
        *,
        kind: JobKind | str | None = None,
        status: JobStatus | str | None = None,
        input: str | None = None,
        order: str = "desc",
        page_size: int = 100,
    ) -> AsyncIterator[Job]:
        """``GET /jobs``, following the cursor (``Link: rel="next"`` or ``Has-More``)."""
        params: dict[str, Any] = {"limit": page_size, "order": order}
        for name, value in (("kind", kind), ("status", status), ("input", input)):
            if value is not None:
                params[name] = str(value)
        next_url: str | None = "/jobs"
        while next_url is not None:
            response = await self._send(
                "GET", next_url, route="/jobs", params=params if next_url == "/jobs" else None
            )
            page = [Job.model_validate(item) for item in response.json()]
            for job in page:
                yield job
            next_url = parse_next_link(response.headers.get("link"))
            if next_url is None and response.headers.get("has-more", "").lower() == "true" and page:
                params = {**params, "after": page[-1].id}
                next_url = "/jobs"

    async def cancel_job(self, job_id: str) -> Job:
        """Cancel a job where the service supports it (the local service does; see its docs)."""
        try:
            response = await self._send(
                "POST", f"/_local/jobs/{job_id}/cancel", route="/_local/jobs/{id}/cancel"
            )
        except NotFoundError as error:
            if error.kind in ("job_not_found",):
                raise
            raise UnsupportedOperation(
                f"{self.base_url} does not support cancelling jobs"
            ) from None
        return Job.model_validate(response.json())

    async def wait_for_job(
        self,
        job: Job | str,
        *,
        timeout: float | None = None,
        raise_on_failure: bool = True,
        job_stats: JobStats | None = None,
    ) -> Job:
        """Poll until the job is terminal or ``timeout`` seconds pass (``DeadlineExceeded``).

        A job that ends ``failed`` or ``cancelled`` raises ``JobFailed`` unless
        ``raise_on_failure`` is false.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        schedule = PollSchedule(self.poll)
        current = job if isinstance(job, Job) else await self.get_job(job, job_stats=job_stats)
        delay = schedule.first_delay()
        while not current.status.is_terminal:
            hold = self._held_wait(deadline)
            if hold > 0:
                current = await self.get_job(current.id, wait=hold, job_stats=job_stats)
                continue
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(
                        f"job {current.id} still {current.status} after {timeout:.0f}s", job=current
                    )
                delay = min(delay, remaining)
            await asyncio.sleep(delay)
            current = await self.get_job(current.id, job_stats=job_stats)
            delay = schedule.next_delay(current)
        if raise_on_failure and not current.status.is_success:
            raise JobFailed(current)
        return current

    def _held_wait(self, deadline: float | None) -> float:
        """Seconds to ask the server to hold the next look, or 0 to poll."""
        if not self.poll.use_server_wait or self._server_wait_max <= 0:
            return 0.0
        # Well inside the read timeout, so a held request never looks like a dead connection.
        hold = min(self._server_wait_max, self._read_timeout / 2)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                return 0.0  # the polling path raises DeadlineExceeded
            hold = min(hold, remaining)
        return hold

    async def run_job(
        self,
        *,
        input: str,
        kind: JobKind | str,
        options: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        on_created: Callable[[Job], None] | None = None,
    ) -> JobResult:
        """Create a job and wait for it; cancel it remotely if we stop waiting.

        Cancellation (the caller's task cancelled, e.g. a terminated run) and a missed deadline
        both try to cancel the remote job so it does not go on spending quota.
        """
        stats = JobStats()
        job, replayed = await self._create_job(
            input=input,
            kind=kind,
            options=options,
            metadata=metadata,
            webhook_url=None,
            idempotency_key=idempotency_key,
            job_stats=stats,
        )
        if on_created is not None:
            on_created(job)
        try:
            done = await self.wait_for_job(job, timeout=timeout, job_stats=stats)
        except (asyncio.CancelledError, DeadlineExceeded):
            await self._cancel_quietly(job.id)
            raise
        except JobFailed as failed:
            failed.requests = stats.requests
            raise
        return JobResult(
            job=done,
            requests=stats.requests,
            retries=stats.retries,
            created=not replayed,
        )

    async def _cancel_quietly(self, job_id: str) -> None:
        with contextlib.suppress(IttybitError):
            # Shielded: the caller is being cancelled, but the remote cancel should still go out.
            await asyncio.shield(self.cancel_job(job_id))

    # -- tasks ------------------------------------------------------------------------------

    async def probe(self, url: str, *, timeout: float | None = 120.0) -> File:
        """``POST /tasks`` with kind ``probe``: what the service sees in ``url``."""
        response = await self._send(
            "POST",
            "/tasks",
            route="/tasks",
            json={"kind": "probe", "input": {"url": url}},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        task = Task.model_validate(response.json())
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.poll.initial
        while not task.status.is_terminal:
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(f"probe task {task.id} still {task.status}")
            await asyncio.sleep(delay)
            delay = min(self.poll.max_interval, delay * self.poll.multiplier)
            got = await self._send("GET", f"/tasks/{task.id}", route="/tasks/{id}")
            task = Task.model_validate(got.json())
        if not task.status.is_success or task.output is None:
            error = task.error
            raise TaskFailed(
                task.id,
                kind=error.kind if error else "probe_failed",
                reason=error.message if error else f"probe {task.status}",
            )
        return task.output
