"""Worker slots, in-flight statistics, hangs and cancellation."""

from __future__ import annotations

import time

import httpx
from local_service_helpers import StartService, create_job, wait_for_status


def test_workers_bound_processing_and_stats_report_high_water(
    start_service: StartService,
) -> None:
    """With workers=3, at most 3 jobs process at once while all 8 count as in flight."""
    service = start_service(workers=3, latency=(0.15, 0.15))
    with httpx.Client(base_url=service.base_url) as http:
        ids = [create_job(http)["id"] for _ in range(8)]
        peak_processing = 0
        while True:
            stats = http.get("/_local/stats").json()
            peak_processing = max(peak_processing, stats["processing"])
            if stats["jobs"]["succeeded"] == len(ids):
                break
            time.sleep(0.01)
    assert peak_processing == 3
    assert stats["high_water_processing"] == 3
    assert stats["high_water_in_flight"] == 8
    assert stats["in_flight"] == 0
    assert stats["requests"]["POST /jobs"] == 8


def test_stats_reset_restarts_the_high_water_mark(start_service: StartService) -> None:
    """POST /_local/stats/reset sets the high-water mark to what is in flight now."""
    service = start_service(latency=(0.0, 0.0))
    with httpx.Client(base_url=service.base_url) as http:
        for job in [create_job(http) for _ in range(4)]:
            wait_for_status(http, job["id"])
        before = http.get("/_local/stats").json()
        after = http.post("/_local/stats/reset").json()
    assert before["high_water_in_flight"] >= 1
    assert after["high_water_in_flight"] == 0
    assert after["requests"] == {}  # the window opens after the reset request


def test_hanging_job_stays_processing(start_service: StartService) -> None:
    """With --hang-rate 1 a job is processing and never finishes on its own."""
    service = start_service(hang_rate=1.0)
    with httpx.Client(base_url=service.base_url) as http:
        job = create_job(http)
        wait_for_status(http, job["id"], {"processing"})
        time.sleep(0.3)
        assert http.get(f"/jobs/{job['id']}").json()["status"] == "processing"


def test_local_cancel_ends_a_processing_job_cancelled(start_service: StartService) -> None:
    """POST /_local/jobs/{id}/cancel turns a hung job cancelled and frees its slot."""
    service = start_service(hang_rate=1.0, workers=1)
    with httpx.Client(base_url=service.base_url) as http:
        job = create_job(http)
        wait_for_status(http, job["id"], {"processing"})
        cancelled = http.post(f"/_local/jobs/{job['id']}/cancel").json()
        stats = http.get("/_local/stats").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"] is not None
    statuses = [task["status"] for task in cancelled["tasks"]]
    assert statuses == ["succeeded", "succeeded", "cancelled", "cancelled"]
    assert stats["processing"] == 0


def test_local_cancel_of_a_queued_job(start_service: StartService) -> None:
    """A job waiting for a slot can be cancelled and never starts."""
    service = start_service(hang_rate=1.0, workers=1)
    with httpx.Client(base_url=service.base_url) as http:
        create_job(http)
        waiting = create_job(http)
        cancelled = http.post(f"/_local/jobs/{waiting['id']}/cancel").json()
        time.sleep(0.1)
        later = http.get(f"/jobs/{waiting['id']}").json()
    assert cancelled["status"] == later["status"] == "cancelled"
    assert later["started_at"] is None


def test_cancel_of_unknown_job_is_404(client: httpx.Client) -> None:
    """Cancelling a job that does not exist is 404 job_not_found."""
    response = client.post("/_local/jobs/job_missing/cancel")
    assert response.status_code == 404
    assert response.json()["kind"] == "job_not_found"


def test_progress_is_reported_while_processing(start_service: StartService) -> None:
    """A processing job reports an integer progress below 100 that grows over time."""
    service = start_service(latency=(0.6, 0.6))
    with httpx.Client(base_url=service.base_url) as http:
        job = create_job(http)
        wait_for_status(http, job["id"], {"processing"})
        time.sleep(0.3)
        midway = http.get(f"/jobs/{job['id']}").json()
        done = wait_for_status(http, job["id"])
    assert midway["status"] == "processing"
    assert 20 <= midway["progress"] <= 99
    assert done["progress"] == 100
