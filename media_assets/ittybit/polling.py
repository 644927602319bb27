"""When to look at a job next.

A job that reports ``progress`` tells us roughly when it will finish: from the time it has been
processing and the fraction done, the remaining time is ``elapsed * (100 - p) / p``. Looking just
after that moment notices the finish promptly with few requests; while a job is queued or reports
no progress we back off exponentially instead. Ittybit's job object reports progress per task
only; then the task being processed (in practice the encode, which takes nearly all the time)
stands in for the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from media_assets.ittybit.config import PollPolicy
from media_assets.ittybit.models import Job, JobStatus


@dataclass
class PollSchedule:
    """The polling state of one wait."""

    policy: PollPolicy
    started: float = field(default_factory=time.monotonic)  # when we began waiting
    _backoff: float = 0.0

    def first_delay(self) -> float:
        self._backoff = self.policy.initial
        return self.policy.initial

    def next_delay(self, job: Job) -> float:
        estimate = self._predicted_remaining(job) if self.policy.use_progress else None
        if estimate is not None:
            if estimate > self.policy.refine_above:
                return self._clamp(estimate * self.policy.refine_ratio)
            return self._clamp(estimate + self.policy.finish_margin)
        self._backoff = self._clamp(self._backoff * self.policy.multiplier)
        return self._backoff

    def _clamp(self, delay: float) -> float:
        return min(self.policy.max_interval, max(self.policy.min_interval, delay))

    def _predicted_remaining(self, job: Job) -> float | None:
        if job.status != JobStatus.PROCESSING:
            return None
        progress, started_at = job.progress, job.started_at
        task = job.running_task if progress is None else None
        if task is not None:
            progress, started_at = task.progress, task.started_at
        if progress is None or not 0 < progress < 100:
            return None
        elapsed = self._processing_elapsed(started_at)
        if elapsed is None or elapsed <= 0:
            return None
        # Progress is a whole percent, floored: the true fraction lies in [p, p + 1), so the
        # midpoint is the unbiased estimate. A look that comes early costs one more request but
        # then sees ~99% and lands on the finish; one that comes late wastes the slot.
        done = progress + 0.5
        return elapsed * (100 - done) / done

    def _processing_elapsed(self, started_at: int | None) -> float | None:
        """Seconds the work has been processing, from the server's clock when it is plausible."""
        waited = time.monotonic() - self.started
        if started_at is not None:
            elapsed = time.time() - started_at / 1000
            # A skewed clock would make the estimate nonsense; then only our own view is usable.
            if 0 <= elapsed <= waited + 1.0:
                return elapsed
        return waited
