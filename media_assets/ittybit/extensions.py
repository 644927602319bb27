"""Local-service extensions: what the client knows of them, all in one place.

The hosted Ittybit API does not have any of these. They are offered by the project's local
Ittybit-compatible service (see ``docs/local-service.md``), and the client uses them only
through this module, so that what it assumes beyond Ittybit's contract is visible here:

- **Held looks.** A response header ``Job-Wait-Max: S`` says the server can hold
  ``GET /jobs/{id}?wait=W`` until the job is terminal or ``min(W, S)`` seconds pass. The client
  asks for held looks only after a response carried the header, so against Ittybit it polls.
- **Cancelling a job.** ``POST /_local/jobs/{id}/cancel``. A server without the route answers
  404 with a kind other than ``job_not_found``, and the client reports that as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

WAIT_MAX_HEADER = "Job-Wait-Max"
WAIT_PARAM = "wait"
CANCEL_ROUTE = "/_local/jobs/{id}/cancel"
# The kind the cancel route's own 404 carries; any other 404 means the route is not there.
JOB_NOT_FOUND = "job_not_found"


@dataclass
class ServerExtensions:
    """What one server has advertised, read from the headers of its responses.

    Only ``Job-Wait-Max`` is advertised today; cancelling is tried and recognised as missing by
    its 404.
    """

    # Seconds the server offers to hold a look at a job; 0 when it has not offered.
    wait_max: float = 0.0

    def note(self, response: httpx.Response) -> None:
        """Remember what ``response`` advertises (each response of a job route says it anew)."""
        try:
            offered = float(response.headers.get(WAIT_MAX_HEADER, "0"))
        except ValueError:
            offered = 0.0
        self.wait_max = offered if offered > 0 else 0.0


def wait_params(seconds: float) -> dict[str, str]:
    """Query parameters asking for a look held up to ``seconds``."""
    return {WAIT_PARAM: f"{seconds:g}"}


def cancel_path(job_id: str) -> str:
    return CANCEL_ROUTE.format(id=job_id)


def route_missing(kind: str) -> bool:
    """Whether a 404 from the cancel route, of this ``kind``, means the server lacks the route."""
    return kind != JOB_NOT_FOUND
