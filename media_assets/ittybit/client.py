"""The async Ittybit client: jobs, probes, waiting, listing, cancelling.

    async with IttybitClient(api_key=key) as client:
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
import functools
import ssl
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from media_assets.ittybit import extensions
from media_assets.ittybit.config import (
    DEFAULT_BASE_URL,
    PollPolicy,
    RateLimit,
    RetryPolicy,
    Timeout,
)
from media_assets.ittybit.errors import (
    DeadlineExceeded,
    IttybitError,
    JobFailed,
    RetryableError,
    TaskFailed,
    UnsupportedOperation,
)
from media_assets.ittybit.http import error_for_response, parse_next_link, transport_error
from media_assets.ittybit.keys import checked_key
from media_assets.ittybit.models import File, Job, JobKind, JobStatus, Task
from media_assets.ittybit.polling import PollSchedule
from media_assets.ittybit.pools import SHARD_SIZE, ConnectionPools
from media_assets.ittybit.ratelimit import RequestLimiter, rate_limiter
from media_assets.ittybit.retry import RetryHook, call_with_retries

# How long an idle connection is kept for reuse, under the common 5 s of servers (uvicorn's and
# httpx's own default alike).
KEEPALIVE_EXPIRY_S = 4.0


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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # What httpx builds for every client by default (certifi's roots, SSL_CERT_FILE/DIR honoured),
    # built once: each build reads the CA bundle, ~50 ms of CPU, and a client has several pools.
    return httpx.create_ssl_context()


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
    * **max_connections** - *(optional)* size of the connection pool. Held looks (see
      ``PollPolicy.use_server_wait``) use at most ``held_looks_max`` of them at once, so creates
      and other looks always find a connection; waits beyond that poll instead.
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
        self._api_key = SecretStr(api_key) if api_key else None
        self.retry = retry
        self.poll = poll
        self._on_retry = on_retry
        if limiter is None and rate_limit is not None:
            limiter = rate_limiter(rate_limit)
        self._limiter: RequestLimiter | None = limiter
        self.stats = RequestStats()
        self.max_connections = max_connections
        # A held look keeps its connection for as long as the job runs. Left unbounded, C held
        # looks on a pool of C connections would leave a create (or a poll) queued until some
        # job ended: the slot it fills would idle meanwhile. Keep a tenth of the pool for them.
        self.held_looks_max = max_connections - max(1, max_connections // 10)
        self._held_looks = 0
        self._read_timeout = timeout.read
        self._extensions = extensions.ServerExtensions()
        headers = {"Accept": "application/json", "User-Agent": "media-assets"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        client_timeout = httpx.Timeout(
            connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
        )

        def http_client(connections: int) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=self.base_url,
                headers=headers,
                timeout=client_timeout,
                verify=_tls_context(),
                limits=httpx.Limits(
                    max_connections=connections,
                    max_keepalive_connections=connections,
                    # A connection the server may be closing is not reused: a POST sent on it
                    # would fail with a read error and be retried.
                    keepalive_expiry=KEEPALIVE_EXPIRY_S,
                ),
                transport=transport,
            )

        # A transport given (tests, proxies) is one pool; it cannot be split.
        self._pools = ConnectionPools(
            max_connections=max_connections,
            client=http_client,
            shard_size=max_connections if transport is not None else SHARD_SIZE,
        )

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
        await self._pools.aclose()

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
        retry: RetryPolicy | None = None,
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
                with self._pools.least_busy() as http:
                    response = await http.request(
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

        return await call_with_retries(
            request, attempt, policy=retry or self.retry, on_retry=on_retry
        )

    # -- jobs -------------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        input: str,
        kind: JobKind | str,
        options: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        webhook_url: str | None = None,
        output: str | None = None,
        idempotency_key: str | None = None,
        job_stats: JobStats | None = None,
        retry: RetryPolicy | None = None,
    ) -> Job:
        """``POST /jobs``. Retried safely: without a key, one is made for this call.

        ``output`` is an ``s3://bucket/key`` destination the job delivers its result to.

        A key must be 16 to 32 characters (Ittybit's limit); another length raises ``ValueError``
        before anything is sent. ``retry`` replaces the client's policy for this call (e.g.
        bounded by a deadline).
        """
        job, _ = await self._create_job(
            input=input,
            kind=kind,
            options=options,
            metadata=metadata,
            webhook_url=webhook_url,
            output=output,
            idempotency_key=idempotency_key,
            job_stats=job_stats,
            retry=retry,
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
        retry: RetryPolicy | None = None,
        output: str | None = None,
    ) -> tuple[Job, bool]:
        body: dict[str, Any] = {"input": input, "kind": str(kind), "options": dict(options or {})}
        if metadata:
            body["metadata"] = dict(metadata)
        if webhook_url:
            body["webhook_url"] = webhook_url
        if output:
            body["output"] = output
        key = checked_key(idempotency_key) if idempotency_key is not None else uuid.uuid4().hex
        response = await self._send(
            "POST",
            "/jobs",
            route="/jobs",
            json=body,
            headers={"Idempotency-Key": key},
            job_stats=job_stats,
            retry=retry,
        )
        self._extensions.note(response)
        # 200 means the key was seen before: we re-attached to the job it created.
        return Job.model_validate(response.json()), response.status_code == 200

    async def get_job(
        self,
        job_id: str,
        *,
        wait: float | None = None,
        job_stats: JobStats | None = None,
        retry: RetryPolicy | None = None,
    ) -> Job:
        """``GET /jobs/{id}``.

        ``wait`` (seconds) asks the server to answer only once the job is terminal or that time
        has passed; only the local service honours it (see ``extensions``). ``retry`` replaces
        the client's policy for this call.
        """
        params = extensions.wait_params(wait) if wait else None
        response = await self._send(
            "GET",
            f"/jobs/{job_id}",
            route="/jobs/{id}",
            params=params,
            job_stats=job_stats,
            retry=retry,
        )
        self._extensions.note(response)
        return Job.model_validate(response.json())

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
        """Cancel a job where the service offers it (the local service; see ``extensions``).

        Ittybit documents no way to cancel a job: where cancelling is not advertised this raises
        ``UnsupportedOperation`` without sending anything. A client that has not yet seen a job
        response first looks at the job (a documented route) to learn what the server offers.
        """
        if not self._extensions.seen:
            await self.get_job(job_id)
        if not self._extensions.cancel:
            raise UnsupportedOperation(
                f"{self.base_url} offers no way to cancel a job (Ittybit documents none): "
                f"job {job_id} runs on"
            )
        response = await self._send(
            "POST", extensions.cancel_path(job_id), route=extensions.CANCEL_ROUTE
        )
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
        ``raise_on_failure`` is false. With a ``timeout``, a look that fails for a transient
        reason (the service down, a 429) is tried again until the timeout: the job is still in
        flight while it cannot be seen, and ``DeadlineExceeded`` carries it when time runs out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        schedule = PollSchedule(self.poll)
        if isinstance(job, Job):
            current = job
        else:
            current = await self._look(job, None, deadline, job_stats, timeout)
        delay = schedule.first_delay()
        while not current.status.is_terminal:
            hold = self._held_wait(deadline)
            if hold > 0:
                self._held_looks += 1
                try:
                    current = await self._look(current, hold, deadline, job_stats, timeout)
                finally:
                    self._held_looks -= 1
                continue
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(
                        f"job {current.id} still {current.status} after {timeout:.0f}s", job=current
                    )
                delay = min(delay, remaining)
            await asyncio.sleep(delay)
            current = await self._look(current, None, deadline, job_stats, timeout)
            delay = schedule.next_delay(current)
        if raise_on_failure and not current.status.is_success:
            raise JobFailed(current)
        return current

    async def _look(
        self,
        job: Job | str,
        wait: float | None,
        deadline: float | None,
        job_stats: JobStats | None,
        timeout: float | None,
    ) -> Job:
        """One ``GET /jobs/{id}``, its transient failures retried until ``deadline``."""
        job_id = job if isinstance(job, str) else job.id
        if deadline is None:
            return await self.get_job(job_id, wait=wait, job_stats=job_stats)
        budget = replace(self.retry, attempts=None, timeout=max(0.001, deadline - time.monotonic()))
        try:
            return await self.get_job(job_id, wait=wait, job_stats=job_stats, retry=budget)
        except RetryableError as error:
            raise DeadlineExceeded(
                f"job {job_id} could not be looked at within {timeout:.0f}s: {error}",
                job=job if isinstance(job, Job) else None,
            ) from None

    def _held_wait(self, deadline: float | None) -> float:
        """Seconds to ask the server to hold the next look, or 0 to poll."""
        offered = self._extensions.wait_max
        if not self.poll.use_server_wait or offered <= 0:
            return 0.0
        if self._held_looks >= self.held_looks_max:
            return 0.0  # every connection held looks may use is held: poll this time
        # Well inside the read timeout, so a held request never looks like a dead connection.
        hold = min(offered, self._read_timeout / 2)
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
        output: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        on_created: Callable[[Job], None] | None = None,
    ) -> JobResult:
        """Create a job and wait for it; if we stop waiting, cancel it where the service can.

        Cancellation (the caller's task cancelled, e.g. a terminated run) and a missed deadline
        both cancel the remote job where cancelling is advertised, so it does not go on spending
        quota. Ittybit documents no cancel: there the job runs on, and a later ``run_job`` with
        the same Idempotency-Key re-attaches to it.
        """
        stats = JobStats()
        job, replayed = await self._create_job(
            input=input,
            kind=kind,
            options=options,
            metadata=metadata,
            output=output,
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

    async def probe(self, url: str) -> File:
        """``POST /tasks`` with kind ``probe``: what the service sees in ``url``, if told at once.

        Ittybit answers a new standalone task ``waiting`` and documents no route to read it back,
        so this works only where the answer is already final (the local service probes while the
        request waits); elsewhere it raises ``UnsupportedOperation``. To learn a file's facts
        from the hosted API, read the probe task of a job on it (``Job.input_file``).
        """
        response = await self._send(
            "POST",
            "/tasks",
            route="/tasks",
            json={"kind": "probe", "input": {"url": url}},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        task = Task.model_validate(response.json())
        if not task.status.is_terminal:
            raise UnsupportedOperation(
                f"{self.base_url} answered probe task {task.id} {task.status} and documents no "
                "way to read it back: use the probe task of a job instead"
            )
        if not task.status.is_success or task.output is None:
            error = task.error
            raise TaskFailed(
                task.id,
                kind=error.kind if error else "probe_failed",
                reason=error.message if error else f"probe {task.status}",
            )
        return task.output
