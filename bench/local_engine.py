"""The local service's ffmpeg engine through the API against the same ffmpeg commands run directly.

    .venv/bin/python bench/local_engine.py [--repeats 3] [--generated]

Inputs: the valid video files of the shared corpus (``../shared/corpus`` next to the repository:
files the service's probe calls video), or, when that folder is absent or ``--generated`` is
given, a few clips made here with the imageio-ffmpeg binary (testsrc2 + sine, 3-8 s).

For every input the pipeline's default jobs run one after another, exactly as the pipeline asks
for them: ``ingested`` (video, mp4 quality high) from the source, then ``thumbnail`` (image,
webp width 640 start 2), ``audio`` (mp3 high; only when the source has sound, as the pipeline
marks it not applicable otherwise) and ``transcoded`` (video, mp4 h264 width 1280 medium) from
the ingested output.

- API: the local service in a child process (``LocalService``, ffmpeg engine, one worker, as
  users start it) and ``IttybitClient.run_job`` with the client's defaults (it asks the service to
  hold each look until the job ends: ``GET /jobs/{id}?wait=``), one job at a time. Downstream
  jobs take the ingested output URL, which the service reads from its own disk.
- direct: per job what the engine does, without the service: ``probe_file(src)`` (the job's
  probe task) and the engine's own ``encode`` (validate, the same ffmpeg command, the retry at
  ``start 0`` when a still comes out empty, rename into place, probe the output). Downstream
  jobs read the directly made ingested file.

One untimed warm-up pass of both decides which jobs are measured (a job that fails in either
path is left out and listed); then ``--repeats`` rounds, alternating which path goes first,
each timing the total wall of both paths. Printed: per-stage and total seconds, the API/direct
ratio per round and its median (target <= 1.10), and for the API path where its extra time goes:
queue wait in the service, processing (the engine: probe + ffmpeg + output probe), and the gap
between the job finishing and the client noticing (polling), from the service's own job
timestamps; plus HTTP requests per job.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quiet import warn_if_other_benches_run

from media_assets.engine.stages import (
    ALL_STAGES,
    MediaFacts,
    not_applicable_reason,
    stage_job,
)
from media_assets.ittybit import IttybitClient
from media_assets.ittybit.config import PollPolicy
from media_assets.ittybit.errors import IttybitError
from media_assets.ittybit.models import File
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.media import (
    MediaError,
    encode,
    ffmpeg_exe,
    output_extension,
    probe_file,
    validate_options,
)
from media_assets.local_ittybit.server import LocalService
from media_assets.results import Stage
from media_assets.sources import file_uri

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()
TARGET_RATIO = 1.10
# For reference only: a client that polls every 50 ms instead of asking the service to hold its
# look until the job ends; the pipeline's client uses PollPolicy() defaults (held looks).
FAST_POLL = PollPolicy(
    initial=0.05, min_interval=0.05, multiplier=1.0, max_interval=0.05, use_server_wait=False
)
# (name, size, seconds, with sound) of the clips made when the corpus is absent.
GENERATED_CLIPS = (
    ("gen-720p-6s-audio.mp4", "1280x720", 6, True),
    ("gen-1080p-4s-audio.mp4", "1920x1080", 4, True),
    ("gen-360p-8s-audio.mp4", "640x360", 8, True),
    ("gen-540p-3s-noaudio.mp4", "960x540", 3, False),
)


@dataclass(frozen=True)
class Job:
    source: Path
    stage: Stage
    kind: str
    options: Mapping[str, Any]

    def __str__(self) -> str:
        return f"{self.source.name}:{self.stage}"


@dataclass
class PassResult:
    wall: float = 0.0
    by_stage: dict[Stage, float] = field(default_factory=lambda: defaultdict(float))
    failed: list[str] = field(default_factory=list)
    # API only: seconds per component, summed over jobs, and HTTP requests.
    queued: float = 0.0
    processing: float = 0.0
    noticed_after: float = 0.0
    requests: int = 0
    jobs: int = 0


# -- inputs ----------------------------------------------------------------------------------


def corpus_videos() -> list[Path]:
    found = []
    for path in sorted(CORPUS.iterdir()):
        if not path.is_file() or path.suffix == ".md":
            continue
        try:
            if probe_file(path).get("kind") == "video":
                found.append(path)
        except MediaError:
            continue
    return found


def generate_clips(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, size, seconds, sound in GENERATED_CLIPS:
        target = folder / name
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error"]
        cmd += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}"]
        if sound:
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
        if sound:
            cmd += ["-c:a", "aac", "-b:a", "128k"]
        cmd += ["-movflags", "+faststart", str(target)]
        subprocess.run(cmd, check=True, capture_output=True)
        made.append(target)
    return made


def plan_jobs(sources: Sequence[Path]) -> list[Job]:
    """The pipeline's jobs per source, in the order one file's chain would run them."""
    jobs: list[Job] = []
    for source in sources:
        facts = MediaFacts.from_probe(File.model_validate(probe_file(source)))
        for stage in ALL_STAGES:
            if not_applicable_reason(stage, facts) is None:
                spec = stage_job(stage, facts)
                jobs.append(Job(source, stage, str(spec.kind), dict(spec.options)))
    return jobs


# -- the API path ----------------------------------------------------------------------------


async def api_pass(
    base_url: str, jobs: Sequence[Job], poll: PollPolicy | None = None
) -> tuple[PassResult, set[str]]:
    """Run ``jobs`` through the service one at a time; returns figures and the jobs that failed."""
    result = PassResult()
    failed: set[str] = set()
    ingested_url: dict[Path, str] = {}
    client = IttybitClient(base_url=base_url, poll=poll or PollPolicy())
    async with client:
        started = time.perf_counter()
        for job in jobs:
            if job.stage == Stage.INGESTED:
                input_url = file_uri(job.source)
            elif job.source in ingested_url:
                input_url = ingested_url[job.source]
            else:
                failed.add(str(job))
                continue
            t0 = time.perf_counter()
            try:
                outcome = await client.run_job(input=input_url, kind=job.kind, options=job.options)
            except IttybitError as error:
                failed.add(str(job))
                result.failed.append(f"{job}: {error}")
                continue
            noticed = time.time()
            result.by_stage[job.stage] += time.perf_counter() - t0
            done = outcome.job
            if job.stage == Stage.INGESTED:
                ingested_url[job.source] = str(done.output)
            result.jobs += 1
            result.requests += outcome.requests
            if done.created_at and done.started_at and done.finished_at:
                result.queued += (done.started_at - done.created_at) / 1000
                result.processing += (done.finished_at - done.started_at) / 1000
                result.noticed_after += max(0.0, noticed - done.finished_at / 1000)
        result.wall = time.perf_counter() - started
    return result, failed


# -- the direct path -------------------------------------------------------------------------


def run_direct(job: Job, src: Path, out_dir: Path) -> Path:
    """What the engine does for one job, minus the service: probe, then its own ``encode``."""
    options = validate_options(job.kind, job.options)
    dst = out_dir / f"{src.stem}.{output_extension(job.kind, options)}"
    encode(job.kind, options, src, dst, probe=probe_file(src))
    return dst


def direct_pass(jobs: Sequence[Job], out_dir: Path) -> tuple[PassResult, set[str]]:
    """Run ``jobs`` directly one at a time; returns figures and the jobs that failed."""
    shutil.rmtree(out_dir, ignore_errors=True)
    result = PassResult()
    failed: set[str] = set()
    ingested: dict[Path, Path] = {}
    started = time.perf_counter()
    for number, job in enumerate(jobs):
        src = job.source if job.stage == Stage.INGESTED else ingested.get(job.source)
        if src is None:
            failed.add(str(job))
            continue
        t0 = time.perf_counter()
        try:
            # A folder per job, as the service makes one per job id.
            made = run_direct(job, src, out_dir / f"{number:03d}")
        except MediaError as error:
            failed.add(str(job))
            result.failed.append(f"{job}: {error}")
            continue
        result.by_stage[job.stage] += time.perf_counter() - t0
        result.jobs += 1
        if job.stage == Stage.INGESTED:
            ingested[job.source] = made
    result.wall = time.perf_counter() - started
    return result, failed


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--generated", action="store_true", help="use generated clips even if the corpus exists"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N inputs")
    args = parser.parse_args(argv)
    warn_if_other_benches_run()

    root = Path(tempfile.mkdtemp(prefix="media_assets_engine_"))
    try:
        if CORPUS.is_dir() and not args.generated:
            sources, origin = corpus_videos(), f"corpus {CORPUS}"
        else:
            sources, origin = generate_clips(root / "clips"), "generated clips"
        sources = sources[: args.limit] if args.limit else sources
        allow_root = sources[0].parent
        jobs = plan_jobs(sources)
        print(f"{len(sources)} inputs ({origin}), {len(jobs)} jobs per pass", flush=True)

        config = ServiceConfig(
            port=0, data_dir=root / "service", engine="ffmpeg", allow_roots=(allow_root,), workers=1
        )
        out_dir = root / "direct"
        with LocalService(config) as service:
            # Warm-up: caches (encoder list, imports, page cache) and which jobs succeed at all.
            _, api_failed = asyncio.run(api_pass(service.base_url, jobs))
            _, direct_failed = direct_pass(jobs, out_dir)
            skipped = sorted(api_failed | direct_failed)
            measured = [job for job in jobs if str(job) not in skipped]
            for name in skipped:
                where = (
                    "both"
                    if name in api_failed and name in direct_failed
                    else ("API" if name in api_failed else "direct")
                )
                print(f"  left out (failed in {where}): {name}")
            print(f"{len(measured)} jobs measured per pass", flush=True)

            rounds: list[tuple[PassResult, PassResult]] = []
            fast_rounds: list[PassResult] = []
            for number in range(args.repeats):
                if number % 2 == 0:
                    api, _ = asyncio.run(api_pass(service.base_url, measured))
                    direct, _ = direct_pass(measured, out_dir)
                else:
                    direct, _ = direct_pass(measured, out_dir)
                    api, _ = asyncio.run(api_pass(service.base_url, measured))
                fast, _ = asyncio.run(api_pass(service.base_url, measured, FAST_POLL))
                failures = api.failed + direct.failed + fast.failed
                if failures:
                    print(f"  round {number + 1} failures: {failures}")
                rounds.append((api, direct))
                fast_rounds.append(fast)
                print(
                    f"round {number + 1}: API {api.wall:.2f}s, direct {direct.wall:.2f}s,"
                    f" ratio {api.wall / direct.wall:.3f} (reference, API polled every 50 ms"
                    f" {fast.wall:.2f}s, ratio {fast.wall / direct.wall:.3f})",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print_report(rounds, fast_rounds, measured, origin)
    return 0


def print_report(
    rounds: Sequence[tuple[PassResult, PassResult]],
    fast_rounds: Sequence[PassResult],
    measured: Sequence[Job],
    origin: str,
) -> None:
    ratios = [api.wall / direct.wall for api, direct in rounds]
    median = statistics.median(ratios)
    counts = defaultdict(int)
    for job in measured:
        counts[job.stage] += 1
    print()
    print(f"bench/local_engine.py: {len(measured)} jobs per pass ({origin}), one service worker")
    print(
        f"{'stage':<12} {'jobs':>5} {'API s':>8} {'direct s':>9} {'ratio':>7}   (medians of rounds)"
    )
    for stage in ALL_STAGES:
        if not counts[stage]:
            continue
        api_s = statistics.median(api.by_stage[stage] for api, _ in rounds)
        direct_s = statistics.median(direct.by_stage[stage] for _, direct in rounds)
        print(
            f"{stage!s:<12} {counts[stage]:>5} {api_s:>8.2f} {direct_s:>9.2f}"
            f" {api_s / direct_s:>7.3f}"
        )
    api_wall = statistics.median(api.wall for api, _ in rounds)
    direct_wall = statistics.median(direct.wall for _, direct in rounds)
    print(f"{'total':<12} {len(measured):>5} {api_wall:>8.2f} {direct_wall:>9.2f}")
    print(f"ratio API/direct per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    verdict = "met" if median <= TARGET_RATIO else "NOT met"
    print(f"median ratio: {median:.3f}  (target <= {TARGET_RATIO:.2f}: {verdict})")
    # Where the API's extra time goes, from the service's job timestamps (median round).
    api, direct = sorted(rounds, key=lambda pair: pair[0].wall / pair[1].wall)[len(rounds) // 2]
    jobs = max(1, api.jobs)
    print(
        f"API time per job (round with the median ratio): wall {api.wall / jobs * 1000:.0f} ms ="
        f" queued {api.queued / jobs * 1000:.0f} + processing {api.processing / jobs * 1000:.0f}"
        f" + finished->noticed {api.noticed_after / jobs * 1000:.0f}"
        f" + other {(api.wall - api.queued - api.processing - api.noticed_after) / jobs * 1000:.0f}"
        f" ms; direct {direct.wall / jobs * 1000:.0f} ms; {api.requests / jobs:.1f} HTTP requests"
        " per job"
    )
    print(
        f"service processing / direct: {api.processing / direct.wall:.3f}"
        " (the engine alone: probe + ffmpeg + output probe, without HTTP and polling)"
    )
    fast_ratios = [
        fast.wall / direct.wall for fast, (_, direct) in zip(fast_rounds, rounds, strict=True)
    ]
    fast = fast_rounds[len(fast_rounds) // 2]
    print(
        "reference, client polling every 50 ms instead of held looks: median ratio"
        f" {statistics.median(fast_ratios):.3f}"
        f" ({', '.join(f'{r:.3f}' for r in fast_ratios)}),"
        f" {fast.requests / max(1, fast.jobs):.1f} HTTP requests per job"
    )


if __name__ == "__main__":
    sys.exit(main())
