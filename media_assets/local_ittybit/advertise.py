"""What the service tells clients about its local-only extensions, in response headers.

Ittybit's hosted API has none of these, and a client must use them only where it sees them
advertised. Responses of ``POST /jobs`` and ``GET /jobs/{id}`` carry:

- ``Local-Extensions: job-wait, job-cancel`` — the extensions offered: ``job-wait`` is
  ``GET /jobs/{id}?wait=S`` held until the job ends; ``job-cancel`` is
  ``POST /_local/jobs/{id}/cancel``;
- ``Job-Wait-Max: S`` — the longest hold ``job-wait`` grants, in seconds.

The hosted profile advertises nothing, exactly as Ittybit does.
"""

from __future__ import annotations

from .config import ServiceConfig

EXTENSIONS_HEADER = "Local-Extensions"
WAIT_MAX_HEADER = "Job-Wait-Max"
JOB_WAIT = "job-wait"
JOB_CANCEL = "job-cancel"


def extension_headers(config: ServiceConfig) -> dict[str, str]:
    """The headers a job response carries to say which extensions this service offers."""
    if config.hosted:
        return {}
    offered = [JOB_CANCEL]
    headers: dict[str, str] = {}
    if config.held_wait_max > 0:
        offered.insert(0, JOB_WAIT)
        headers[WAIT_MAX_HEADER] = f"{config.held_wait_max:g}"
    headers[EXTENSIONS_HEADER] = ", ".join(offered)
    return headers
