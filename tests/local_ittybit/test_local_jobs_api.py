"""POST /jobs and GET /jobs/{id} of the local service (simulate engine)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from local_service_helpers import StartService, create_job, wait_for_status

JOB_KEYS = {
    "id",
    "object",
    "kind",
    "input",
    "output",
    "options",
    "metadata",
    "status",
    "progress",
    "error",
    "tasks",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
}


def test_create_returns_201_with_a_queued_job_in_ittybit_shape(client: httpx.Client) -> None:
    """A new job comes back 201, queued, with every documented field and ms timestamps."""
    before_ms = time.time() * 1000
    response = client.post(
        "/jobs",
        json={"input": "https://media.example/a.mp4", "kind": "video", "metadata": {"k": "v"}},
    )
    assert response.status_code == 201
    job = response.json()
    assert set(job) == JOB_KEYS
    assert job["id"].startswith("job_") and job["object"] == "job"
    assert (job["status"], job["progress"], job["output"], job["error"]) == (
        "queued",
        None,
        None,
        None,
    )
    assert job["metadata"] == {"k": "v"}
    assert before_ms - 1000 < job["created_at"] <= time.time() * 1000 + 1
    assert [task["kind"] for task in job["tasks"]] == ["probe", "import", "video", "export"]
    assert job["tasks"][0]["input"] == {
        "object": "external_file",
        "url": "https://media.example/a.mp4",
    }


def test_job_runs_to_succeeded_with_output_and_finished_tasks(client: httpx.Client) -> None:
    """A simulated job ends succeeded with progress 100, an output URL and all four tasks done."""
    job = create_job(client, kind="image", options={"width": 640, "format": "webp"})
    done = wait_for_status(client, job["id"])
    assert done["status"] == "succeeded"
    assert done["progress"] == 100
    assert done["output"].endswith(".webp") and "/files/" + job["id"] + "/" in done["output"]
    assert [task["status"] for task in done["tasks"]] == ["succeeded"] * 4
    assert done["tasks"][2]["output"]["width"] == 640
    assert done["tasks"][3]["output"]["url"] == done["output"]
    assert done["created_at"] <= done["started_at"] <= done["finished_at"] == done["updated_at"]


def test_unknown_job_is_404_job_not_found(client: httpx.Client) -> None:
    """GET of a missing job answers 404 with kind job_not_found."""
    response = client.get("/jobs/job_doesnotexist")
    assert response.status_code == 404
    assert response.json()["kind"] == "job_not_found"
    assert isinstance(response.json()["message"], str)


def test_idempotent_replay_returns_the_original_job_with_200(client: httpx.Client) -> None:
    """The same Idempotency-Key and body returns the first job, not a new one."""
    body = {"input": "https://media.example/b.mp4", "kind": "audio"}
    headers = {"Idempotency-Key": "key-0123456789abcdef"}
    first = client.post("/jobs", json=body, headers=headers)
    second = client.post("/jobs", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert len(client.get("/jobs").json()) == 1


def test_idempotency_key_with_a_different_body_is_refused(client: httpx.Client) -> None:
    """Reusing a key with another body is a permanent 422 idempotency_key_reused."""
    headers = {"Idempotency-Key": "key-fedcba9876543210"}
    client.post(
        "/jobs", json={"input": "https://m.example/1.mp4", "kind": "video"}, headers=headers
    )
    response = client.post(
        "/jobs", json={"input": "https://m.example/2.mp4", "kind": "video"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["kind"] == "idempotency_key_reused"


def test_malformed_json_is_400_invalid_input(client: httpx.Client) -> None:
    """A body that is not JSON is 400 invalid_input."""
    response = client.post(
        "/jobs", content=b'{"input": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"


def test_unsupported_scheme_is_400_invalid_input(client: httpx.Client) -> None:
    """An ftp:// input is refused with 400 invalid_input naming the allowed schemes."""
    response = client.post("/jobs", json={"input": "ftp://host/a.mp4", "kind": "video"})
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"
    assert "http" in response.json()["message"]


def test_file_url_outside_allowed_roots_is_400(start_service: StartService, tmp_path: Path) -> None:
    """file:// inputs outside --allow-root folders (even via ..) are refused at POST time."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    service = start_service(allow_roots=(allowed,))
    with httpx.Client(base_url=service.base_url) as http:
        outside = http.post("/jobs", json={"input": "file:///etc/passwd", "kind": "video"})
        sneaky = http.post(
            "/jobs", json={"input": f"file://{allowed}/../secret.mp4", "kind": "video"}
        )
        inside = http.post("/jobs", json={"input": f"file://{allowed}/ok.mp4", "kind": "video"})
    assert (outside.status_code, sneaky.status_code, inside.status_code) == (400, 400, 201)
    assert outside.json()["kind"] == "invalid_input"


def test_unknown_kind_is_400_invalid_input(client: httpx.Client) -> None:
    """A kind outside video/audio/image/animation is 400 invalid_input."""
    response = client.post("/jobs", json={"input": "https://m.example/a.mp4", "kind": "hologram"})
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"


def test_invalid_options_are_400_invalid_input(client: httpx.Client) -> None:
    """Options the media layer rejects (an unknown quality) are 400 invalid_input."""
    response = client.post(
        "/jobs",
        json={"input": "https://m.example/a.mp4", "kind": "video", "options": {"quality": "ultra"}},
    )
    assert response.status_code == 400
    assert response.json()["kind"] == "invalid_input"


def test_top_level_quality_moves_into_options(client: httpx.Client) -> None:
    """quality given next to kind (as some Ittybit examples do) lands in options."""
    job = create_job(client, kind="audio", quality="high")
    assert job["options"]["quality"] == "high"


def test_fail_match_inputs_end_failed_with_a_reason(start_service: StartService) -> None:
    """Inputs matching --fail-match end failed with a processing_failed error naming them."""
    service = start_service(fail_match=r"broken")
    with httpx.Client(base_url=service.base_url) as http:
        job = create_job(http, input="https://m.example/broken.mp4")
        done = wait_for_status(http, job["id"])
    assert done["status"] == "failed"
    assert done["error"]["kind"] == "processing_failed"
    assert "broken.mp4" in done["error"]["message"]
    assert done["tasks"][2]["status"] == "failed"
