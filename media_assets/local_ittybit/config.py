"""Settings of the local Ittybit-compatible service, shared by the CLI, the server and the tests."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .roots import AddedRoots

EngineName = Literal["ffmpeg", "simulate"]
# ``local``: the Ittybit API plus this service's extensions. ``hosted``: what Ittybit's hosted API
# documents and no more, so a client that works against it works against Ittybit.
CompatProfile = Literal["local", "hosted"]
COMPAT_PROFILES: tuple[CompatProfile, ...] = ("local", "hosted")

# Simulated jobs only sleep, so a slot costs nothing; the cap just has to exceed any sane backlog.
SIMULATE_DEFAULT_WORKERS = 1000


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """Everything the service needs to start. Simulate knobs are ignored by the ffmpeg engine."""

    host: str = "127.0.0.1"
    port: int = 8787
    data_dir: Path
    engine: EngineName = "ffmpeg"
    compat: CompatProfile = "local"
    workers: int | None = None
    api_key: str | None = None
    allow_roots: tuple[Path, ...] = ()
    public_url: str | None = None
    # Where outputs are written and served from; None = ``data_dir/files``.
    output_dir: Path | None = None
    # Longest ``GET /jobs/{id}?wait=S`` hold, advertised in the ``Job-Wait-Max`` header; 0 = off.
    max_wait: float = 20.0
    # simulate engine
    latency: tuple[float, float] = (0.05, 0.2)
    fail_rate: float = 0.0
    fail_match: str | None = None
    error_rate: float = 0.0
    rate_limit: float | None = None
    hang_rate: float = 0.0
    seed: int | None = None
    # Folders added while running (POST /_local/roots); shared by copies of this config.
    added_roots: AddedRoots = field(default_factory=AddedRoots, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.engine not in ("ffmpeg", "simulate"):
            raise ValueError(f"engine must be 'ffmpeg' or 'simulate', not {self.engine!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, not {self.port}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        low, high = self.latency
        if low < 0 or high < low:
            raise ValueError(f"latency must be 0 <= MIN <= MAX, not {low}:{high}")
        for name in ("fail_rate", "error_rate", "hang_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, not {value}")
        if not 0 <= self.max_wait < float("inf"):
            raise ValueError(f"max_wait must be 0 or more seconds, not {self.max_wait}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be positive, not {self.rate_limit}")
        if self.fail_match is not None:
            try:
                re.compile(self.fail_match)
            except re.error as exc:
                raise ValueError(f"fail_match is not a valid regular expression: {exc}") from exc
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must not be empty")
        if self.compat not in COMPAT_PROFILES:
            raise ValueError(f"compat must be 'local' or 'hosted', not {self.compat!r}")
        if self.hosted:
            # Ittybit answers every API request without a valid key with 401.
            if self.api_key is None:
                raise ValueError("the hosted profile needs an API key (--api-key/--api-key-file)")
            if self.allow_roots:
                raise ValueError("the hosted profile reads no file:// inputs: drop --allow-root")

    @property
    def hosted(self) -> bool:
        """Whether the service behaves as Ittybit's hosted API documents, and no more."""
        return self.compat == "hosted"

    @property
    def held_wait_max(self) -> float:
        """Longest ``GET /jobs/{id}?wait=`` hold offered; 0 when none (always so when hosted)."""
        return 0.0 if self.hosted else self.max_wait

    @property
    def effective_workers(self) -> int:
        """How many jobs may be processing at once."""
        if self.workers is not None:
            return self.workers
        if self.engine == "simulate":
            return SIMULATE_DEFAULT_WORKERS
        return os.cpu_count() or 1

    @property
    def base_url(self) -> str:
        """Root of every URL the service hands out (job outputs, pagination links)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return self.bound_url

    @property
    def bound_url(self) -> str:
        """Where the listening socket can be reached, whatever ``public_url`` says."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def readable_roots(self) -> tuple[Path, ...]:
        """Every folder ``file://`` inputs may come from."""
        return (*self.allow_roots, *self.added_roots.roots)

    @property
    def added_roots_path(self) -> Path:
        return self.data_dir / "added-roots.json"

    @property
    def files_dir(self) -> Path:
        """Where job outputs live (the output folder); the only folder ``GET /files/...`` reads."""
        return self.output_dir if self.output_dir is not None else self.data_dir / "files"

    @property
    def s3_dir(self) -> Path:
        """Stand-in buckets: ``s3://bucket/key`` is ``s3_dir/bucket/key`` (see ``buckets``)."""
        return self.data_dir / "s3"

    @property
    def tmp_dir(self) -> Path:
        """Where downloaded inputs wait while a job uses them."""
        return self.data_dir / "tmp"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"


def _url_host(host: str) -> str:
    # A wildcard bind address is not something a client can connect to; loopback always works.
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if address.version == 6 else host
