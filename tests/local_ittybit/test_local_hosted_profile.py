"""``--compat hosted``: the service behaves as Ittybit's hosted API documents, and no more."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from local_service_helpers import RunningService, StartService, create_job, wait_for_status

from media_assets.local_ittybit import ServiceConfig

API_KEY = "ittybit_test_hosted_profile_key"
CLIP = "https://media.example/library/clip.mp4"


@pytest.fixture
def hosted(start_service: StartService) -> RunningService:
    return start_service(compat="hosted", api_key=API_KEY, latency=(0.3, 0.3))


@pytest.fixture
def http(hosted: RunningService) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=hosted.base_url, headers=headers, timeout=10) as client:
        yield client


def test_the_hosted_profile_needs_a_key(tmp_path: Path) -> None:
    """A hosted-profile config without an API key is refused: Ittybit always needs one."""
    with pytest.raises(ValueError, match="API key"):
        ServiceConfig(data_dir=tmp_path, compat="hosted")


def test_a_request_without_the_key_is_401(hosted: RunningService) -> None:
    """Without Authorization the API answers 401 token_missing."""
    response = httpx.post(f"{hosted.base_url}/jobs", json={"kind": "video", "input": CLIP})
    assert (response.status_code, response.json()["kind"]) == (401, "token_missing")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks/task_123"),
        ("GET", "/_local/stats"),
        ("POST", "/_local/stats/reset"),
        ("POST", "/_local/jobs/job_123/cancel"),
        ("POST", "/_local/roots"),
    ],
)
def test_undocumented_routes_are_absent(http: httpx.Client, method: str, path: str) -> None:
    """Routes Ittybit does not document (reading a task, cancel, stats, roots) are 404."""
    response = http.request(method, path, json={})
    assert response.status_code == 404, response.text


def test_health_stays_for_the_caller(http: httpx.Client) -> None:
    """``/_local/health`` answers, saying which profile this is."""
    health = http.get("/_local/health").json()
    assert (health["status"], health["compat"]) == ("ok", "hosted")


@pytest.mark.parametrize("job_input", ["file:///srv/media/clip.mp4", "ftp://media.example/a.mp4"])
def test_inputs_other_than_http_and_s3_are_refused(http: httpx.Client, job_input: str) -> None:
    """A file:// or ftp:// input is 400 invalid_input in Ittybit's words."""
    response = http.post("/jobs", json={"kind": "video", "input": job_input})
    assert response.status_code == 400
    assert response.json() == {
        "kind": "invalid_input",
        "message": "input must use http://, https://, or s3:// scheme",
    }


@pytest.mark.parametrize("job_input", [CLIP, "http://media.example/a.mp4", "s3://media/a.mp4"])
def test_http_and_s3_inputs_are_taken(http: httpx.Client, job_input: str) -> None:
    """http://, https:// and s3:// inputs create a job."""
    assert http.post("/jobs", json={"kind": "video", "input": job_input}).status_code == 201


def test_a_job_lists_probe_import_encode_export_and_no_job_progress(http: httpx.Client) -> None:
    """The job object carries its four tasks; progress is reported per task only."""
    job = create_job(http, input=CLIP)
    assert [task["kind"] for task in job["tasks"]] == ["probe", "import", "video", "export"]
    assert "progress" not in job
    done = wait_for_status(http, job["id"])
    assert done["status"] == "succeeded"
    assert "progress" not in done
    assert done["tasks"][0]["output"]["kind"] == "video"  # the probe's media facts
    assert [task["progress"] for task in done["tasks"]][2] == 100


def test_a_standalone_task_answers_waiting(http: httpx.Client) -> None:
    """POST /tasks answers 201 with status waiting and the input as an external_file."""
    response = http.post("/tasks", json={"kind": "probe", "input": {"url": CLIP}})
    assert response.status_code == 201
    task = response.json()
    assert (task["object"], task["kind"], task["status"], task["output"]) == (
        "task",
        "probe",
        "waiting",
        None,
    )
    assert task["input"] == {"object": "external_file", "url": CLIP}


def test_a_standalone_task_of_an_unknown_kind_is_refused(http: httpx.Client) -> None:
    """POST /tasks with a kind Ittybit does not list is 400 invalid_input."""
    response = http.post("/tasks", json={"kind": "transcribe", "input": {"url": CLIP}})
    assert (response.status_code, response.json()["kind"]) == (400, "invalid_input")


@pytest.mark.parametrize("length", [15, 33])
def test_idempotency_keys_outside_16_to_32_characters_are_refused(
    http: httpx.Client, length: int
) -> None:
    """An Idempotency-Key shorter than 16 or longer than 32 characters is 400 invalid_input."""
    response = http.post(
        "/jobs", json={"kind": "video", "input": CLIP}, headers={"Idempotency-Key": "k" * length}
    )
    assert (response.status_code, response.json()["kind"]) == (400, "invalid_input")
    assert "16 to 32" in response.json()["message"]


def test_a_key_reused_with_another_body_is_a_400(http: httpx.Client) -> None:
    """Reusing a key with a different body is refused with 400, a documented status."""
    headers = {"Idempotency-Key": "k" * 20}
    first = http.post("/jobs", json={"kind": "video", "input": CLIP}, headers=headers)
    again = http.post("/jobs", json={"kind": "audio", "input": CLIP}, headers=headers)
    assert first.status_code == 201
    assert (again.status_code, again.json()["kind"]) == (400, "idempotency_key_reused")


def test_no_extension_is_advertised_and_waits_are_not_held(http: httpx.Client) -> None:
    """No Local-Extensions or Job-Wait-Max header, and ?wait= is ignored: the look is at once."""
    created = http.post("/jobs", json={"kind": "video", "input": CLIP})
    started = time.monotonic()
    looked = http.get(f"/jobs/{created.json()['id']}", params={"wait": "10"})
    elapsed = time.monotonic() - started
    for response in (created, looked):
        assert "Local-Extensions" not in response.headers
        assert "Job-Wait-Max" not in response.headers
    assert looked.json()["status"] in ("queued", "processing")
    assert elapsed < 0.25  # the job takes 0.3 s; a held look would have waited for it


def test_the_local_profile_advertises_its_extensions(start_service: StartService) -> None:
    """The local profile names held waits and cancel in Local-Extensions on job responses."""
    service = start_service(max_wait=5)
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        created = client.post("/jobs", json={"kind": "video", "input": CLIP})
        looked = client.get(f"/jobs/{created.json()['id']}")
    for response in (created, looked):
        assert response.headers["Local-Extensions"] == "job-wait, job-cancel"
        assert response.headers["Job-Wait-Max"] == "5"


def test_without_held_waits_only_cancel_is_advertised(start_service: StartService) -> None:
    """With --max-wait 0 the local profile still offers cancel, and no held waits."""
    service = start_service(max_wait=0)
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        created = client.post("/jobs", json={"kind": "video", "input": CLIP})
    assert created.headers["Local-Extensions"] == "job-cancel"
    assert "Job-Wait-Max" not in created.headers
