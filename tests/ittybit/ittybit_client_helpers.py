"""Helpers the client tests share (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from media_assets.ittybit import IttybitClient, PollPolicy, RetryPolicy
from media_assets.local_ittybit import RunningService, ServiceConfig

StartService = Callable[..., RunningService]
MakeClient = Callable[..., IttybitClient]

# Polls and retries quick enough for tests, still exercising the real code paths.
# Polling, not the local service's held waits: most client tests are about polling behaviour;
# test_client_server_wait.py covers the held waits.
FAST_POLL = PollPolicy(
    initial=0.05, multiplier=1.5, min_interval=0.02, max_interval=0.5, use_server_wait=False
)
FAST_RETRY = RetryPolicy(attempts=6, timeout=20.0, wait_initial=0.02, wait_max=0.2, wait_jitter=0.0)


def service_config(data_dir: Path, **overrides: Any) -> ServiceConfig:
    """A config on a free port; the simulate engine with fast, seeded jobs unless overridden."""
    settings: dict[str, Any] = {"port": 0, "engine": "simulate", "latency": (0.0, 0.05), "seed": 11}
    settings.update(overrides)
    return ServiceConfig(data_dir=data_dir, **settings)


# The hosted profile (``--compat hosted``) needs a key, as Ittybit does.
HOSTED_KEY = "ittybit_test_key_for_the_hosted_profile"
# What Ittybit's reference documents, as the service counts requests (by route template).
DOCUMENTED_ROUTES = frozenset({"POST /jobs", "GET /jobs", "GET /jobs/{job_id}", "POST /tasks"})


def hosted_config(data_dir: Path, **overrides: Any) -> ServiceConfig:
    """``service_config`` for the hosted profile, with its key."""
    return service_config(data_dir, **{"compat": "hosted", "api_key": HOSTED_KEY, **overrides})


def requests_seen(service: RunningService) -> dict[str, int]:
    """Requests by route template, read from the running app (the hosted profile serves none)."""
    return dict(service.app.state.service.stats.requests)


def service_stats(base_url: str, api_key: str | None = None) -> dict[str, Any]:
    """The service's own view (``GET /_local/stats``): jobs by status, requests by route."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = httpx.get(f"{base_url}/_local/stats", headers=headers, timeout=10)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def service_job(base_url: str, job_id: str) -> dict[str, Any]:
    """A job as the service stores it, read past the client."""
    response = httpx.get(f"{base_url}/jobs/{job_id}", timeout=10)
    response.raise_for_status()
    job: dict[str, Any] = response.json()
    return job


@dataclass
class CannedServer:
    """A loopback HTTP server that answers every request with one status and JSON body."""

    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD /path", in arrival order


@contextlib.contextmanager
def canned_server(status: int, body: dict[str, Any]) -> Iterator[CannedServer]:
    """Serve ``status`` + ``body`` on a free loopback port (for answers the service never gives)."""
    payload = json.dumps(body).encode()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            seen.append(f"{self.command} {self.path}")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CannedServer(url=f"http://127.0.0.1:{server.server_address[1]}", requests=seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
