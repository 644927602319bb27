"""GET /jobs/{id}?wait=S: the local service holds the answer until the job ends."""

from __future__ import annotations

import threading
import time

import httpx
from local_service_helpers import StartService, create_job


def held_get(base_url: str, job_id: str, wait: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{base_url}/jobs/{job_id}", params={"wait": wait}, timeout=30)
    return response, time.monotonic() - started


def test_held_get_answers_when_the_job_ends(start_service: StartService) -> None:
    """A held look returns the finished job soon after it finishes, before the wait runs out."""
    service = start_service(latency=(0.5, 0.5))
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http)
    response, elapsed = held_get(service.base_url, job["id"], "10")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert elapsed < 5


def test_held_get_is_capped_by_max_wait(start_service: StartService) -> None:
    """A wait longer than max_wait is cut to it; the job comes back still processing."""
    service = start_service(hang_rate=1.0, max_wait=0.3)
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http)
    response, elapsed = held_get(service.base_url, job["id"], "20")
    assert response.json()["status"] in ("queued", "processing")
    assert 0.25 <= elapsed < 5


def test_max_wait_is_advertised(start_service: StartService) -> None:
    """POST /jobs and GET /jobs/{id} carry Job-Wait-Max with the service's limit."""
    service = start_service(max_wait=7.5)
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        created = http.post("/jobs", json={"input": "https://media.example/a.mp4", "kind": "video"})
        shown = http.get(f"/jobs/{created.json()['id']}")
    assert created.headers["job-wait-max"] == "7.5"
    assert shown.headers["job-wait-max"] == "7.5"


def test_waiting_off_answers_at_once_without_the_header(start_service: StartService) -> None:
    """With max_wait 0 the wait parameter is ignored and nothing is advertised."""
    service = start_service(hang_rate=1.0, max_wait=0)
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http)
    response, elapsed = held_get(service.base_url, job["id"], "10")
    assert "job-wait-max" not in response.headers
    assert elapsed < 2


def test_cancel_answers_a_held_get(start_service: StartService) -> None:
    """Cancelling a job ends the wait of whoever is looking at it."""
    service = start_service(hang_rate=1.0)
    looked: list[tuple[httpx.Response, float]] = []
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http)
        looker = threading.Thread(
            target=lambda: looked.append(held_get(service.base_url, job["id"], "15"))
        )
        looker.start()
        time.sleep(0.3)
        http.post(f"/_local/jobs/{job['id']}/cancel")
        looker.join(20)
    response, elapsed = looked[0]
    assert response.json()["status"] == "cancelled"
    assert elapsed < 10


def test_bad_wait_is_a_400(client: httpx.Client) -> None:
    """A wait that is not a number of seconds is rejected with invalid_input."""
    job = create_job(client)
    response = client.get(f"/jobs/{job['id']}", params={"wait": "soon"})
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"
