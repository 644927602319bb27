"""Throughput of the Dagster path against a hand-written asyncio pool, on the simulate engine.

    .venv/bin/python bench/throughput.py [--files 1000] [--in-flight 100] [--latency 2:6]

One local service (simulate engine, job time uniform in --latency, enough workers that it never
queues, default settings: held looks on) serves these measurements in one process:

(a) the Dagster path: ``media-assets run`` over a JSONL library of --files URLs with
    ``--max-in-flight C`` (daemon, backfill, ranged runs, event log, manifest);
(b) a plain asyncio pool on the same client: C workers pulling jobs, each file's three
    downstream jobs queued ahead of new ingests until only C files are left to ingest, then
    ingests first (the engine's order, and the best a hand-written pool does);
(p) (a) and (b) again with held looks off, so the clients poll: the pool with
    ``use_server_wait=False`` on the same service, ``media-assets run`` against a second service
    started with ``max_wait=0`` (``--max-wait 0``). Held looks should be at least as fast;
(c) Dagster with one run per file, on a smaller library, for reference;
(d) memory: the Dagster path as one run holding C jobs, then one run holding C / 5; the slope of
    the run worker's peak RSS between the two is the memory each in-flight job costs;
(h) the hosted profile: the same simulate jobs behind ``--compat hosted`` (a key, documented
    routes only, no held looks, progress per task only), run by the pool and by ``media-assets
    run`` with ``ITTYBIT_API_KEY``: the polling cost of a real user's run, in requests per job.
    That service runs in this process (its counters are not served), which the pool shares.

Efficiency E = ideal / actual, where ideal = sum of job service times / C from the service's own
job records and actual = first job created -> last job finished. Figures are ratios of one run;
the machine is noisy, so compare within a run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from media_assets.cli.tether import die_with_parent
from media_assets.ittybit import IttybitClient, JobKind, PollPolicy
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService, RunningService, running_in_thread

CLI = [sys.executable, "-m", "media_assets.cli.main"]


@dataclass
class Figures:
    label: str
    files: int
    in_flight: int
    wall_s: float
    measured: Measured
    cpu_s: float
    runs: int | None = None
    max_rss_mb: float | None = None  # the pool: growth of its process while it ran
    memory: Memory | None = None  # the Dagster path: its process tree, sampled

    @property
    def efficiency(self) -> float:
        measured = self.measured
        return (measured.service_s / self.in_flight) / measured.span_s if measured.span_s else 0.0

    def show(self, pool: Figures | None = None) -> None:
        print(f"\n== {self.label}")
        measured = self.measured
        print(f"files {self.files}, jobs {measured.jobs}, C = {self.in_flight}")
        print(
            f"E = ideal/actual = {self.efficiency:.3f}"
            + (f"  ({self.efficiency / pool.efficiency:.3f} x the pool)" if pool else "")
        )
        print(
            f"actual (first create -> last finish) {measured.span_s:.1f}s; "
            f"ideal {measured.service_s / self.in_flight:.1f}s; end to end {self.wall_s:.1f}s"
        )
        print(f"high_water_in_flight {measured.high_water} (cap {self.in_flight})")
        print(f"HTTP requests per job {measured.requests_per_job:.2f}")
        print(f"orchestration CPU per file {1000 * self.cpu_s / max(1, self.files):.1f} ms")
        if self.runs is not None:
            print(f"Dagster runs created {self.runs}")
        if self.max_rss_mb is not None:
            print(
                f"RSS growth of the pool's process {self.max_rss_mb:.1f} MB "
                f"= {self.max_rss_mb / self.in_flight:.2f} MB per in-flight job"
            )
        if self.memory is not None:
            largest = self.memory.largest_by_role.items()
            roles = ", ".join(f"{role} {mb:.0f}" for role, mb in largest)
            cpu = ", ".join(
                f"{role} {1000 * sec / max(1, self.files):.1f}"
                for role, sec in self.memory.cpu_by_role.items()
            )
            print(f"CPU per file by process role (ms): {cpu}")
            workers = sorted(self.memory.run_worker_cpu_s, reverse=True)
            if self.runs is not None and workers:
                # The longest workers are the backfill's runs; the rest are the manifest
                # updates the manifest_updates sensor starts while they go.
                ranged, others = workers[: self.runs], workers[self.runs :]
                per_file = 1000 / max(1, self.files)
                print(
                    f"run workers: {len(ranged)} backfill runs {sum(ranged) * per_file:.1f} ms/file"
                    f" ({', '.join(f'{sec:.1f}' for sec in ranged)} CPU-s); {len(others)} other"
                    f" runs {sum(others) * per_file:.1f} ms/file"
                    + (f" ({sum(others) / len(others):.1f} CPU-s each)" if others else "")
                )
            print(
                f"peak RSS of all its processes together {self.memory.peak_total_mb:.0f} MB; "
                f"largest process per role (MB): {roles}"
            )


@dataclass
class Memory:
    peak_total_mb: float
    largest_by_role: dict[str, float]
    cpu_s: float  # user + system CPU of every process of the tree, as last sampled
    cpu_by_role: dict[str, float]
    run_worker_cpu_s: list[float]  # one figure per run worker process

    @property
    def run_worker_mb(self) -> float:
        return self.largest_by_role.get("run worker", 0.0)


class TreeSampler(threading.Thread):
    """Samples RSS and CPU time of a process and all its descendants from /proc every 0.2 s.

    CPU is read per process rather than from ``RUSAGE_CHILDREN``, which counts only descendants
    their parents waited for: run workers outliving the daemon that started them would be missed.
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.stop = threading.Event()
        self.peak_total_mb = 0.0
        self.largest: dict[str, float] = {}
        self.cpu: dict[int, tuple[str, float]] = {}
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        self.ticks = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.stop.wait(0.2):
            total = 0.0
            # Processes seen before stay sampled: a run worker outliving its parent is re-parented
            # away from the tree, yet its CPU and RSS still belong to the run.
            for pid in {self.root, *self._descendants(), *self.cpu}:
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                rss = int(stat[21]) * self.page_mb
                total += rss
                role = self.cpu[pid][0] if pid in self.cpu else self._role(pid, command)
                self.largest[role] = max(self.largest.get(role, 0.0), rss)
                self.cpu[pid] = (role, (int(stat[11]) + int(stat[12])) / self.ticks)
            self.peak_total_mb = max(self.peak_total_mb, total)

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found, stack = [], [self.root]
        while stack:
            for child in children.get(stack.pop(), []):
                found.append(child)
                stack.append(child)
        return found

    def _role(self, pid: int, command: str) -> str:
        if pid == self.root:
            return "cli"
        if "spawn_main" in command or "execute_run" in command:
            return "run worker"
        if "media_assets.cli.tether" in command:
            return "tether"
        if "dagster._daemon" in command or "dagster-daemon" in command:
            return "daemon"
        if "grpc" in command:
            return "code server"
        return "other"

    def result(self) -> Memory:
        self.stop.set()
        self.join()
        by_role: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            by_role[role] = by_role.get(role, 0.0) + seconds
        return Memory(
            self.peak_total_mb,
            dict(sorted(self.largest.items())),
            sum(by_role.values()),
            dict(sorted(by_role.items())),
            [seconds for role, seconds in self.cpu.values() if role == "run worker"],
        )


@dataclass
class Target:
    """The service measured: where it is, its key, and how to read and reset its counters."""

    base_url: str
    api_key: str | None = None
    running: RunningService | None = None  # in this process: counters read from the app

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def service_jobs(target: Target, since_ms: int) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    url: str | None = f"{target.base_url}/jobs?limit=100&order=asc"
    with httpx.Client(timeout=30, headers=target.headers) as http:
        while url:
            response = http.get(url)
            response.raise_for_status()
            jobs.extend(job for job in response.json() if (job["created_at"] or 0) >= since_ms)
            url = response.links.get("next", {}).get("url")
    return jobs


def stats(target: Target) -> dict[str, Any]:
    if target.running is not None:  # the hosted profile serves no /_local/stats
        return target.running.app.state.service.stats.snapshot()  # type: ignore[no-any-return]
    return httpx.get(f"{target.base_url}/_local/stats", timeout=10).json()  # type: ignore[no-any-return]


def reset(target: Target) -> None:
    if target.running is not None:
        target.running.app.state.service.stats.reset()
        return
    httpx.post(f"{target.base_url}/_local/stats/reset", timeout=10).raise_for_status()


@dataclass
class Measured:
    jobs: int
    service_s: float
    span_s: float
    requests: int
    high_water: int

    @property
    def requests_per_job(self) -> float:
        return self.requests / max(1, self.jobs)


def measure(target: Target, since_ms: int) -> Measured:
    # Stats first: listing the jobs below is itself counted as requests.
    total = stats(target)
    requests = sum(n for route, n in total["requests"].items() if "/_local" not in route)
    jobs = [j for j in service_jobs(target, since_ms) if j["status"] == "succeeded"]
    service = sum((j["finished_at"] - j["started_at"]) / 1000 for j in jobs)
    span = (max(j["finished_at"] for j in jobs) - min(j["created_at"] for j in jobs)) / 1000
    return Measured(len(jobs), service, span, requests, total["high_water_in_flight"])


def dagster_path(
    target: Target,
    files: int,
    in_flight: int,
    per_run: int | None,
    label: str,
    *,
    env: dict[str, str] | None = None,
) -> Figures:
    """``media-assets run`` over a new library; ``env`` adds settings (e.g. a database URL)."""
    home = Path(tempfile.mkdtemp(prefix="media-assets-bench-"))
    library = home / "library.jsonl"
    # Distinct URLs per measurement: the same URLs again would be cached stages, not remote work.
    slug = f"{label.split()[0].strip('()')}-{files}-{in_flight}"
    library.write_text(
        "".join(
            json.dumps({"url": f"https://media.invalid/{slug}/clip-{i:06d}.mp4"}) + "\n"
            for i in range(files)
        )
    )
    extra = env or {}
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ITTYBIT_", "MEDIA_ASSETS_", "DAGSTER_"))
    }
    env.update(MEDIA_ASSETS_HOME=str(home), ITTYBIT_BASE_URL=target.base_url, **extra)
    if target.api_key:
        env["ITTYBIT_API_KEY"] = target.api_key
    reset(target)
    since = int(time.time() * 1000)
    started = time.monotonic()
    command = [*CLI, "run", str(library), "--max-in-flight", str(in_flight)]
    if per_run:
        command += ["--files-per-run", str(per_run)]
    with tempfile.TemporaryFile("w+") as out:
        # The command gets SIGTERM if the benchmark dies (a timeout, Ctrl-C): it then cancels
        # its backfill and stops its daemon, instead of running on without anyone waiting.
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
        sampler = TreeSampler(process.pid)
        sampler.start()
        try:
            returncode = process.wait()
        except BaseException:
            process.terminate()
            process.wait(timeout=120)
            raise
        memory = sampler.result()
        out.seek(0)
        output = out.read()
    wall = time.monotonic() - started
    if returncode != 0:
        print(output[-3000:])
        raise SystemExit(f"media-assets run exited {returncode}")
    return Figures(
        label,
        files,
        in_flight,
        wall,
        measure(target, since),
        memory.cpu_s,
        runs=_count_backfill_runs(env),
        memory=memory,
    )


def _count_backfill_runs(env: dict[str, str]) -> int:
    """Runs of the library's backfill (not the manifest run that follows it)."""
    code = (
        "from media_assets.cli.home import open_instance\n"
        "from media_assets.settings import load_settings\n"
        "with open_instance(load_settings()) as i:\n"
        "    print(sum('dagster/backfill' in r.tags for r in i.get_runs()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


async def _pool(target: Target, files: int, in_flight: int, slug: str, poll: PollPolicy) -> None:
    async with IttybitClient(
        base_url=target.base_url, api_key=target.api_key, max_connections=in_flight * 2, poll=poll
    ) as client:
        work: deque[tuple[str, JobKind, dict[str, Any], int]] = deque(
            (f"https://media.invalid/{slug}/clip-{i:06d}.mp4", JobKind.VIDEO, {"format": "mp4"}, 0)
            for i in range(files)
        )
        downstream: list[tuple[JobKind, dict[str, Any]]] = [
            (JobKind.IMAGE, {"format": "webp", "width": 640}),
            (JobKind.AUDIO, {"format": "mp3"}),
            (JobKind.VIDEO, {"format": "mp4", "width": 1280}),
        ]

        ingesting = 0  # ingests in flight: their downstream jobs are still to come
        to_ingest = files  # ingests not started; they sit at the right end of ``work``
        more_work = asyncio.Event()

        async def worker() -> None:
            nonlocal ingesting, to_ingest
            while work or ingesting:
                if not work:
                    more_work.clear()
                    await more_work.wait()
                    continue
                # The last files' ingests are the batch's critical path: take them first.
                tail = 0 < to_ingest <= in_flight
                url, kind, options, depth = work.pop() if tail else work.popleft()
                if depth > 0:
                    await client.run_job(input=url, kind=kind, options=options)
                    continue
                to_ingest -= 1
                ingesting += 1
                try:
                    # One job, as the chain ingests: its probe task says what the file is.
                    result = await client.run_job(input=url, kind=kind, options=options)
                    output = result.job.output or url
                    for next_kind, next_options in downstream:
                        work.appendleft((output, next_kind, next_options, 1))
                finally:
                    ingesting -= 1
                    more_work.set()

        await asyncio.gather(*(worker() for _ in range(in_flight)))


def plain_pool(
    target: Target,
    files: int,
    in_flight: int,
    label: str = "(b) plain asyncio pool, same client",
    poll: PollPolicy | None = None,
) -> Figures:
    reset(target)
    since = int(time.time() * 1000)
    cpu = time.process_time()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    asyncio.run(_pool(target, files, in_flight, label.split()[0].strip("()"), poll or PollPolicy()))
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    return Figures(
        label,
        files,
        in_flight,
        wall,
        measure(target, since),
        cpu,
        max_rss_mb=max(0.0, rss),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--latency", default="2:6")
    parser.add_argument(
        "--files-per-run", type=int, default=None, help="default: what media-assets run picks"
    )
    parser.add_argument("--per-file-files", type=int, default=40, help="library size for (c)")
    parser.add_argument("--per-file-in-flight", type=int, default=20)
    parser.add_argument(
        "--skip",
        default="",
        help="letters of measurements to skip, e.g. 'c' ('abcdp': only h; 'p': no polling runs)",
    )
    args = parser.parse_args()
    low, high = (float(x) for x in args.latency.split(":"))
    # The service's defaults: it holds a look until the job ends (``Job-Wait-Max``).
    config = service_config((low, high))
    held: dict[str, Figures] = {}
    polled: dict[str, Figures] = {}
    with LocalService(config) as service:
        target = Target(service.base_url)
        print(
            f"simulate service at {target.base_url}; {args.files} files, C = {args.in_flight}, "
            f"job time uniform {low}-{high}s"
        )
        pool = plain_pool(target, args.files, args.in_flight) if "b" not in args.skip else None
        if pool:
            pool.show()
            held["pool"] = pool
        if "b" not in args.skip and "p" not in args.skip:
            polled["pool"] = plain_pool(
                target,
                args.files,
                args.in_flight,
                "(p-b) plain asyncio pool, held looks off (the client polls)",
                PollPolicy(use_server_wait=False),
            )
            polled["pool"].show(pool)
        if "a" not in args.skip:
            dagster = dagster_path(
                target,
                args.files,
                args.in_flight,
                args.files_per_run,
                "(a) Dagster path: media-assets run (ranged runs)",
            )
            dagster.show(pool)
            held["media-assets run"] = dagster
            if pool is not None:
                overhead = 1000 * (dagster.cpu_s - pool.cpu_s) / max(1, args.files)
                print(f"orchestration CPU per file beyond the pool's client work {overhead:.1f} ms")
        if "d" not in args.skip:
            memory_slope(target, args.in_flight, pool)
        if "c" not in args.skip:
            per_file = dagster_path(
                target,
                args.per_file_files,
                args.per_file_in_flight,
                1,
                "(c) Dagster, one run per file",
            )
            per_file.show()
    if "a" not in args.skip and "p" not in args.skip:
        # The service's --max-wait 0: it offers no held looks, so every client polls.
        with LocalService(service_config((low, high), max_wait=0)) as polling:
            polled["media-assets run"] = dagster_path(
                Target(polling.base_url),
                args.files,
                args.in_flight,
                args.files_per_run,
                "(p-a) Dagster path against a service started with --max-wait 0 (polls)",
            )
            polled["media-assets run"].show(held.get("pool"))
    if polled:
        print("\n== held looks (default) vs polling: E, HTTP requests per job")
        for name, figures in polled.items():
            if name in held:
                on = held[name]
                print(
                    f"{name}: held {on.efficiency:.3f} ({on.measured.requests_per_job:.2f}/job), "
                    f"polling {figures.efficiency:.3f} ({figures.measured.requests_per_job:.2f}"
                    f"/job); held / polling {on.efficiency / figures.efficiency:.3f}"
                )
    if "h" not in args.skip:
        hosted_profile(args.files, args.in_flight, (low, high))


HOSTED_KEY = "ittybit_bench_key_for_the_hosted_profile"


def service_config(latency: tuple[float, float], **overrides: Any) -> ServiceConfig:
    """A simulate service in a new data folder that never queues a job."""
    return ServiceConfig(
        port=0,
        data_dir=Path(tempfile.mkdtemp(prefix="media-assets-bench-svc-")),
        engine="simulate",
        latency=latency,
        workers=10_000,
        seed=1,
        **overrides,
    )


def hosted_profile(files: int, in_flight: int, latency: tuple[float, float]) -> None:
    """(h) The same jobs behind the hosted profile: what polling Ittybit costs per job."""
    config = ServiceConfig(
        port=0,
        data_dir=Path(tempfile.mkdtemp(prefix="media-assets-bench-hosted-")),
        engine="simulate",
        compat="hosted",
        api_key=HOSTED_KEY,
        latency=latency,
        workers=10_000,
        seed=1,
    )
    with running_in_thread(config) as running:
        target = Target(running.base_url, api_key=HOSTED_KEY, running=running)
        print(f"\nhosted-profile simulate service at {target.base_url} (in this process)")
        pool = plain_pool(target, files, in_flight, "(h1) hosted profile: asyncio pool")
        pool.show()
        dagster = dagster_path(
            target,
            files,
            in_flight,
            None,
            "(h2) hosted profile: media-assets run with ITTYBIT_API_KEY",
        )
        dagster.show(pool)
        # Only documented routes should appear here: POST /jobs, GET /jobs/{job_id}, GET /jobs.
        print(f"requests by route (h2, the last listing included): {stats(target)['requests']}")


def memory_slope(target: Target, in_flight: int, pool: Figures | None) -> None:
    """(d) RSS per in-flight job: one run holding C jobs, one holding C / 5, and the slope.

    Each is a single ranged run of 5 x its bound files, so its one run worker holds that many jobs
    at once. A run worker's fixed footprint (Python, Dagster, the definitions: ~130 MB) does not
    grow with the jobs it keeps in flight; the slope between the two is what each job adds.
    """
    bounds = (in_flight, max(1, in_flight // 5))
    if bounds[0] == bounds[1]:
        print("\n== (d) skipped: needs --in-flight of 2 or more")
        return
    peaks = []
    for bound in bounds:
        figures = dagster_path(
            target, 5 * bound, bound, 5 * bound, f"(d) Dagster path, one run holding C = {bound}"
        )
        figures.show()
        assert figures.memory is not None
        peaks.append(figures.memory.run_worker_mb)
    slope = (peaks[0] - peaks[1]) / (bounds[0] - bounds[1])
    print(
        f"\n== RSS per in-flight job (run worker: {peaks[0]:.0f} MB at C = {bounds[0]},"
        f" {peaks[1]:.0f} MB at C = {bounds[1]}): {slope:.2f} MB"
        + (f"; the pool {(pool.max_rss_mb or 0) / in_flight:.2f} MB" if pool else "")
    )


if __name__ == "__main__":
    main()
