"""Local-service extensions: what the client knows of them, all in one place.

The hosted Ittybit API has none of these. They are offered by the project's local
Ittybit-compatible service (see ``docs/local-service.md``), and the client uses them only
through this module, and only where the server advertises them, so that what it assumes beyond
Ittybit's contract is visible here and never reaches the hosted API:

- **The advertisement.** Job responses carry ``Local-Extensions: job-wait, job-cancel`` naming
  the extensions offered. A server that sends no such header (Ittybit, or the local service's
  hosted profile) is spoken to with documented routes only.
- **Held looks** (``job-wait``). ``Job-Wait-Max: S`` says the server can hold
  ``GET /jobs/{id}?wait=W`` until the job is terminal or ``min(W, S)`` seconds pass.
- **Cancelling a job** (``job-cancel``). ``POST /_local/jobs/{id}/cancel``. Ittybit documents no
  way to cancel a job, so where this is not advertised nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

EXTENSIONS_HEADER = "Local-Extensions"
WAIT_MAX_HEADER = "Job-Wait-Max"
JOB_WAIT = "job-wait"
JOB_CANCEL = "job-cancel"
WAIT_PARAM = "wait"
CANCEL_ROUTE = "/_local/jobs/{id}/cancel"


@dataclass
class ServerExtensions:
    """What one server has advertised, read from the headers of its job responses."""

    # Whether any job response has been read yet: until then nothing is known either way.
    seen: bool = False
    # Seconds the server offers to hold a look at a job; 0 when it has not offered.
    wait_max: float = 0.0
    cancel: bool = False

    def note(self, response: httpx.Response) -> None:
        """Remember what ``response`` advertises (each job response says it anew)."""
        self.seen = True
        offered = {
            name.strip().lower()
            for name in response.headers.get(EXTENSIONS_HEADER, "").split(",")
            if name.strip()
        }
        self.cancel = JOB_CANCEL in offered
        try:
            wait_max = float(response.headers.get(WAIT_MAX_HEADER, "0"))
        except ValueError:
            wait_max = 0.0
        # Job-Wait-Max alone was the advertisement before Local-Extensions existed.
        waits = JOB_WAIT in offered or EXTENSIONS_HEADER.lower() not in response.headers
        self.wait_max = wait_max if waits and wait_max > 0 else 0.0


def wait_params(seconds: float) -> dict[str, str]:
    """Query parameters asking for a look held up to ``seconds``."""
    return {WAIT_PARAM: f"{seconds:g}"}


def cancel_path(job_id: str) -> str:
    return CANCEL_ROUTE.format(id=job_id)
