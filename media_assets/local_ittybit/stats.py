"""Counters behind ``GET /_local/stats``: requests, responses and how many jobs were in flight."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .ids import now_ms


class Stats:
    """Request counts by route template and in-flight high-water marks.

    "In flight" is queued + processing: what a client's concurrency cap has outstanding. The
    high-water marks let a test prove that cap was never exceeded.
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.queued = 0
        self.processing = 0
        self.high_water_in_flight = 0
        self.high_water_processing = 0
        self.since_ms = now_ms()

    @property
    def in_flight(self) -> int:
        return self.queued + self.processing

    def count_request(self, route: str) -> None:
        self.requests[route] += 1

    def count_response(self, status_code: int) -> None:
        self.responses[str(status_code)] += 1

    def observe(self, *, queued: int, processing: int) -> None:
        self.queued, self.processing = queued, processing
        self.high_water_in_flight = max(self.high_water_in_flight, queued + processing)
        self.high_water_processing = max(self.high_water_processing, processing)

    def reset(self) -> None:
        """Start a new measurement window; high-water marks restart from the current load."""
        self.requests.clear()
        self.responses.clear()
        self.high_water_in_flight = self.in_flight
        self.high_water_processing = self.processing
        self.since_ms = now_ms()

    def snapshot(self) -> dict[str, Any]:
        return {
            "since": self.since_ms,
            "in_flight": self.in_flight,
            "queued": self.queued,
            "processing": self.processing,
            "high_water_in_flight": self.high_water_in_flight,
            "high_water_processing": self.high_water_processing,
            "requests": dict(sorted(self.requests.items())),
            "responses": dict(sorted(self.responses.items())),
        }
