"""The Ittybit resource: the hosted API with a key, the local service without one.

Local folders reach the local service as ``file://`` URLs (the CLI starts it with the library
folders as allowed roots). The hosted API cannot read a laptop's disk, so with a key a local file
needs a public URL: map a folder to a public base URL with ``public_url_map``, or the file fails
with an error that says so.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import dagster as dg
from pydantic import Field

from media_assets.engine.slots import LockFileSlots
from media_assets.ittybit import IttybitClient, RateLimit, RetryPolicy
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
        default=None, description="Remote jobs in flight across every run on this machine"
    )
    requests_per_second: float | None = Field(
        default=None, description="Ceiling on API requests per second, per process"
    )
    deadlines_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_DEADLINES),
        description="Per-stage deadline in seconds; run config can override per run",
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

    def make_client(self, *, on_retry: RetryHook | None = None) -> IttybitClient:
        """A new client; make it inside the event loop that will use it."""
        limit = (
            RateLimit(requests_per_second=self.requests_per_second)
            if self.requests_per_second
            else None
        )
        return IttybitClient(
            api_key=self.api_key,
            # Waiters told the same Retry-After come back spread over a second, not at once.
            retry=RetryPolicy(retry_after_jitter=1.0),
            base_url=self.base_url.rstrip("/"),
            rate_limit=limit,
            on_retry=on_retry,
            max_connections=max(10, self.run_in_flight * 2),
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
        output_dir=None if settings.uses_hosted_api else str(settings.output_path),
    )


def machine_slots_for(max_in_flight: int | None) -> LockFileSlots | None:
    """Machine-wide job slots for a cap of ``max_in_flight``, or None when uncapped.

    Runs with the same cap share the same lock files, whichever process they run in.
    """
    if not max_in_flight:
        return None
    folder = load_settings().slots_dir / str(max_in_flight)
    return LockFileSlots(folder, max_in_flight)
