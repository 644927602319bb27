"""The Ittybit resource: the hosted API with a key, the local service without one.

Local folders reach the local service as ``file://`` URLs (the CLI starts it with the library
folders as allowed roots). The hosted API cannot read a laptop's disk, so with a key a local file
needs a public URL: map a folder to a public base URL with ``public_url_map``, or the file fails
with an error that says so.

The caps that span processes (jobs in flight, requests per second) are shared through whatever
the run's settings say: the deployment's database when ``MEDIA_ASSETS_DATABASE_URL`` is set, so
every machine counts against one cap; else lock files in the home (jobs in flight, one machine)
and a limiter per process (requests).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import dagster as dg
from pydantic import Field

from media_assets.engine.slots import LockFileSlots, SharedSlots
from media_assets.ittybit import IttybitClient, RateLimit, RequestLimiter, RetryPolicy
from media_assets.ittybit.ratelimit import rate_limiter
from media_assets.ittybit.retry import RetryHook
from media_assets.outputs.locations import LocalOutputs
from media_assets.settings import (
    API_KEY_ENV,
    DEFAULT_DEADLINES,
    DEFAULT_RUN_IN_FLIGHT,
    LOCAL_BASE_URL,
    Settings,
    load_settings,
)


class SourceUnreachable(Exception):
    """The service cannot fetch this source (a local file with the hosted API)."""


class IttybitResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the pipeline's Ittybit jobs go, and how many may be in flight."""

    api_key: str | None = Field(default=None, description="Ittybit API key; none = local service")
    base_url: str = Field(default=LOCAL_BASE_URL, description="API base URL")
    public_url_map: dict[str, str] = Field(
        default_factory=dict,
        description="Local folder -> public base URL, for local files with the hosted API",
    )
    run_in_flight: int = Field(
        default=DEFAULT_RUN_IN_FLIGHT,
        description="Remote jobs one run keeps in flight",
    )
    max_in_flight: int | None = Field(
        default=None,
        description="Remote jobs in flight across every run (of the deployment, with a database)",
    )
    requests_per_second: float | None = Field(
        default=None,
        description="Ceiling on API requests per second: per process, or across the deployment "
        "with a database",
    )
    deadlines_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_DEADLINES),
        description="Per-stage deadline in seconds; run config can override per run",
    )
    output_uri: str | None = Field(
        default=None,
        description="s3://bucket/prefix outputs are delivered to, as <prefix>/<file>/<stage>.<ext>",
    )
    output_dir: str | None = Field(
        default=None,
        description="The local service's output folder: outputs found there are recorded by "
        "their file:// URL and checked; none = record the URLs the service returns",
    )

    @property
    def is_local(self) -> bool:
        return not self.api_key

    def local_outputs(self) -> LocalOutputs | None:
        """The local service's output folder on this machine, when outputs land in one."""
        if not self.is_local or not self.output_dir:
            return None
        return LocalOutputs(folder=Path(self.output_dir), service_url=self.base_url.rstrip("/"))

    def make_client(
        self, *, on_retry: RetryHook | None = None, in_flight: int | None = None
    ) -> IttybitClient:
        """A new client for ``in_flight`` jobs at once (default ``run_in_flight``); make it inside
        the event loop that will use it.

        Its pool has two connections per job in flight: a held look keeps one for as long as its
        job runs, and the create that fills a freed slot must find another at once.
        """
        base_url = self.base_url.rstrip("/")
        jobs = in_flight or self.run_in_flight
        return IttybitClient(
            api_key=self.api_key,
            # Waiters told the same Retry-After come back spread over a second, not at once.
            retry=RetryPolicy(retry_after_jitter=1.0),
            base_url=base_url,
            limiter=request_limiter_for(self.requests_per_second, api=base_url),
            on_retry=on_retry,
            max_connections=max(10, jobs * 2),
        )

    def input_url(self, source_uri: str) -> str:
        """The URL the service should fetch for ``source_uri``."""
        parsed = urlparse(source_uri)
        if parsed.scheme != "file" or self.is_local:
            return source_uri
        path = Path(unquote(parsed.path))
        for folder, base in self.public_url_map.items():
            root = Path(folder).expanduser().resolve()
            if path.is_relative_to(root):
                relative = path.relative_to(root).as_posix()
                return f"{base.rstrip('/')}/{quote(relative)}"
        raise SourceUnreachable(
            f"{path} is a local file and the hosted Ittybit API cannot read it: map its folder "
            "to a public URL (IttybitResource.public_url_map / MEDIA_ASSETS_PUBLIC_URL_MAP) "
            "or unset ITTYBIT_API_KEY to use the local service"
        )


def ittybit_resource(settings: Settings) -> IttybitResource:
    """The resource as ``settings`` configure it.

    The key is bound through ``dg.EnvVar``, so Dagster reads it in the process that runs the job
    and never shows or stores its value; without one the field stays unset (the local service).
    """
    return IttybitResource(
        api_key=dg.EnvVar(API_KEY_ENV) if settings.ittybit_api_key else None,
        base_url=settings.effective_base_url,
        public_url_map=settings.public_url_map,
        run_in_flight=settings.run_in_flight,
        max_in_flight=settings.max_in_flight,
        requests_per_second=settings.requests_per_second,
        deadlines_s=settings.stage_deadlines,
        output_uri=settings.output_uri,
        output_dir=None if settings.uses_hosted_api else str(settings.output_path),
    )


def shared_slots_for(max_in_flight: int | None) -> SharedSlots | None:
    """Job slots for a cap of ``max_in_flight`` across runs, or None when uncapped.

    Runs with the same cap share the same slots, whichever process they run in: the database's
    (every machine) when the settings name one, else the home's lock files (this machine).
    """
    if not max_in_flight:
        return None
    settings = load_settings()
    if settings.database_url is not None:
        from media_assets.postgres.slots import AdvisoryLockSlots

        return AdvisoryLockSlots(settings.database_url.get_secret_value(), max_in_flight)
    return LockFileSlots(settings.slots_dir / str(max_in_flight), max_in_flight)


def request_limiter_for(requests_per_second: float | None, *, api: str) -> RequestLimiter | None:
    """The limiter the client of ``api`` waits on, or None without a ceiling.

    With a database it is one schedule for every process of the deployment that talks to ``api``;
    without one, a token bucket for this client alone.
    """
    if not requests_per_second:
        return None
    settings = load_settings()
    if settings.database_url is not None:
        from media_assets.postgres.request_rate import PostgresRequestRate

        url = settings.database_url.get_secret_value()
        return PostgresRequestRate(url, requests_per_second, name=api)
    return rate_limiter(RateLimit(requests_per_second=requests_per_second))
