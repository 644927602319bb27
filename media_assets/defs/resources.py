"""The Ittybit resource: the hosted API with a key, the local service without one.

Local folders reach the local service as ``file://`` URLs (the CLI starts it with the library
folders as allowed roots). The hosted API cannot read a laptop's disk, so with a key a local file
needs a public URL: map a folder to a public base URL with ``public_url_map``, or the file fails
with an error that says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import dagster as dg
from pydantic import Field

from media_assets.ittybit import DEFAULT_BASE_URL, IttybitClient, RateLimit
from media_assets.ittybit.config import API_KEY_ENV, BASE_URL_ENV
from media_assets.ittybit.retry import RetryHook
from media_assets.pipeline.slots import LockFileSlots
from media_assets.settings import media_assets_home

LOCAL_BASE_URL = "http://127.0.0.1:8787"
MAX_IN_FLIGHT_ENV = "MEDIA_ASSETS_MAX_IN_FLIGHT"
RUN_IN_FLIGHT_ENV = "MEDIA_ASSETS_RUN_IN_FLIGHT"


class SourceUnreachable(Exception):
    """The service cannot fetch this source (a local file with the hosted API)."""


class IttybitResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the pipeline's Ittybit jobs go, and how many may be in flight."""

    api_key: str | None = Field(default=None, description="Ittybit API key; none = local service")
    base_url: str | None = Field(
        default=None, description="API base URL; default: Ittybit with a key, else the local one"
    )
    public_url_map: dict[str, str] = Field(
        default_factory=dict,
        description="Local folder -> public base URL, for local files with the hosted API",
    )
    run_in_flight: int = Field(default=16, description="Remote jobs one run keeps in flight")
    max_in_flight: int | None = Field(
        default=None, description="Remote jobs in flight across every run on this machine"
    )
    requests_per_second: float | None = Field(default=None, description="API request ceiling")

    @property
    def is_local(self) -> bool:
        return not self.api_key

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return DEFAULT_BASE_URL if self.api_key else LOCAL_BASE_URL

    def make_client(self, *, on_retry: RetryHook | None = None) -> IttybitClient:
        """A new client; make it inside the event loop that will use it."""
        limit = (
            RateLimit(requests_per_second=self.requests_per_second)
            if self.requests_per_second
            else None
        )
        return IttybitClient(
            api_key=self.api_key,
            base_url=self.effective_base_url,
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


def ittybit_from_env() -> IttybitResource:
    """The resource as the environment configures it (key only through ``dg.EnvVar``)."""
    has_key = bool(os.environ.get(API_KEY_ENV, "").strip())
    public_map: dict[str, str] = {}
    for pair in os.environ.get("MEDIA_ASSETS_PUBLIC_URL_MAP", "").split(";"):
        if "=" in pair:
            folder, base = pair.split("=", 1)
            public_map[folder.strip()] = base.strip()
    max_in_flight = os.environ.get(MAX_IN_FLIGHT_ENV, "").strip()
    run_in_flight = os.environ.get(RUN_IN_FLIGHT_ENV, "").strip()
    return IttybitResource(
        api_key=dg.EnvVar(API_KEY_ENV) if has_key else None,
        base_url=os.environ.get(BASE_URL_ENV) or None,
        public_url_map=public_map,
        run_in_flight=int(run_in_flight) if run_in_flight else 16,
        max_in_flight=int(max_in_flight) if max_in_flight else None,
    )


def machine_slots_for(max_in_flight: int | None) -> LockFileSlots | None:
    """Machine-wide job slots for a cap of ``max_in_flight``, or None when uncapped.

    Runs with the same cap share the same lock files, whichever process they run in.
    """
    if not max_in_flight:
        return None
    folder = media_assets_home() / "slots" / str(max_in_flight)
    return LockFileSlots(folder, max_in_flight)
