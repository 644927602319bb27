"""GET /files (no escape from the data dir) and POST /tasks probes."""

from __future__ import annotations

import socket

import httpx
import pytest
from local_service_helpers import RunningService, create_job, wait_for_status


def _raw_get(service: RunningService, target: str) -> int:
    """Status of a GET sent byte for byte, so no client normalises the path first."""
    port = service.config.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = conn.recv(1024).decode(errors="replace")
    return int(head.split(" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    [
        "/files/../jobs.sqlite3",
        "/files/%2e%2e/jobs.sqlite3",
        "/files/%2e%2e%2fjobs.sqlite3",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/x/../../jobs.sqlite3",
    ],
)
def test_files_cannot_escape_the_data_dir(service: RunningService, target: str) -> None:
    """Traversal attempts on /files (plain, encoded, absolute) are all 404."""
    assert (service.config.data_dir / "jobs.sqlite3").exists()
    assert _raw_get(service, target) == 404


def test_simulated_output_url_is_downloadable(client: httpx.Client) -> None:
    """A simulated job's output URL answers 200 with placeholder bytes."""
    job = wait_for_status(client, create_job(client)["id"])
    response = httpx.get(job["output"])
    assert response.status_code == 200
    assert job["id"].encode() in response.content


def test_probe_task_returns_201_succeeded_with_a_file(client: httpx.Client) -> None:
    """POST /tasks kind probe answers 201 with a finished task whose output is a File."""
    response = client.post(
        "/tasks", json={"kind": "probe", "input": {"url": "https://m.example/a.mp4"}}
    )
    assert response.status_code == 201
    task = response.json()
    assert task["id"].startswith("task_") and task["status"] == "succeeded"
    assert task["output"]["object"] == "file" and task["output"]["kind"] == "video"
    assert client.get(f"/tasks/{task['id']}").json() == task


def test_unknown_task_is_404_task_not_found(client: httpx.Client) -> None:
    """GET of a missing task answers 404 task_not_found."""
    response = client.get("/tasks/task_missing")
    assert response.status_code == 404
    assert response.json()["kind"] == "task_not_found"


def test_non_probe_task_kind_is_400(client: httpx.Client) -> None:
    """Standalone tasks other than probe are 400 invalid_input."""
    response = client.post("/tasks", json={"kind": "export", "input": {"url": "https://m/a"}})
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"
