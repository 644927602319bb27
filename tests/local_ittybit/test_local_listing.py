"""GET /jobs: cursor pagination, order and filters."""

from __future__ import annotations

import re
from typing import Any

import httpx
from local_service_helpers import StartService, create_job, wait_for_status

NEXT_LINK = re.compile(r'<([^>]+)>; rel="next"')


def _all_pages(client: httpx.Client, url: str) -> list[list[dict[str, Any]]]:
    pages = []
    while True:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.json())
        if response.headers["Has-More"] == "false":
            assert "Link" not in response.headers
            return pages
        match = NEXT_LINK.search(response.headers["Link"])
        assert match is not None
        url = match.group(1)
        assert url.startswith("http://")


def test_pages_follow_link_until_has_more_is_false(client: httpx.Client) -> None:
    """25 jobs read 10 at a time via Link: pages of 10, 10, 5, each id once, newest first."""
    created = [create_job(client, input=f"https://m.example/{n}.mp4")["id"] for n in range(25)]
    pages = _all_pages(client, "/jobs?limit=10")
    assert [len(page) for page in pages] == [10, 10, 5]
    seen = [job["id"] for page in pages for job in page]
    assert seen == list(reversed(created))


def test_limit_header_reports_the_applied_limit(client: httpx.Client) -> None:
    """The Limit header echoes the page size; the default is 20."""
    assert client.get("/jobs").headers["Limit"] == "20"
    assert client.get("/jobs?limit=7").headers["Limit"] == "7"


def test_order_asc_lists_oldest_first(client: httpx.Client) -> None:
    """order=asc pages from the oldest job, and the next link keeps the order."""
    created = [create_job(client, input=f"https://m.example/{n}.mp4")["id"] for n in range(5)]
    pages = _all_pages(client, "/jobs?limit=2&order=asc")
    assert [job["id"] for page in pages for job in page] == created


def test_before_cursor_returns_the_page_before(client: httpx.Client) -> None:
    """before=ID returns the jobs just ahead of ID in the listing order."""
    created = [create_job(client, input=f"https://m.example/{n}.mp4")["id"] for n in range(6)]
    page = client.get(f"/jobs?limit=2&order=asc&before={created[4]}").json()
    assert [job["id"] for job in page] == created[2:4]


def test_kind_and_status_filters(start_service: StartService) -> None:
    """kind= and status= narrow the listing to matching jobs."""
    service = start_service(fail_match="bad")
    with httpx.Client(base_url=service.base_url) as http:
        images = [create_job(http, kind="image")["id"] for _ in range(3)]
        failing = create_job(http, input="https://m.example/bad.mp4")["id"]
        create_job(http)
        for job_id in [*images, failing]:
            wait_for_status(http, job_id)
        by_kind = http.get("/jobs?kind=image").json()
        by_status = http.get("/jobs?status=failed").json()
    assert sorted(job["id"] for job in by_kind) == sorted(images)
    assert [job["id"] for job in by_status] == [failing]


def test_out_of_range_limit_is_400(client: httpx.Client) -> None:
    """limit outside 1..100 is 400 invalid_input."""
    for limit in ("0", "101", "ten"):
        response = client.get(f"/jobs?limit={limit}")
        assert response.status_code == 400
        assert response.json()["kind"] == "invalid_input"
