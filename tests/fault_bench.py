"""What a fault scenario needs: a library, a faulty service, the real CLI, and the reckoning.

Every scenario runs the real `media-assets run` (a subprocess in its own session) against the
local service with the simulate engine, started by the scenario as a child process on a free
loopback port with the faults under test. Afterwards it counts, from the service's own job
records and the manifest the command wrote:

- lost: files given that did not end succeeded / not applicable, nor failed with a reason
- duplicates: remote jobs beyond one successful job per (file, stage)
- leftovers: processes of the command (found by the home folder in their environment) still
  alive after it exited

`bench/faults.py` runs the same scenarios and prints the table.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cli_helpers import Cli, free_port
from media_clips import make_clip

from media_assets.local_ittybit import LocalService, ServiceConfig
from media_assets.manifest.queries import read_results

STAGES = 4  # simulated sources are videos with sound: every stage applies


def make_library(folder: Path, count: int, *, prefix: str = "clip") -> list[Path]:
    """``count`` small files; the simulate engine does not read them, only their URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{prefix}-{index:03d}.mp4"
        path.write_bytes(f"not really a video {prefix} {index}\n".encode())
        # Old enough that `run` need not wait for it to settle.
        os.utime(path, (time.time() - 60, time.time() - 60))
        paths.append(path)
    return paths


class ServiceRecords:
    """What a service under test says about its jobs and requests."""

    base_url: str

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/_local/stats", timeout=10)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the service has, from its own records (they survive restarts)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100, "order": "asc"}
        for _ in range(10_000):
            page = self._page(params)
            items = page.json()
            found.extend(items)
            if page.headers.get("has-more", "").lower() != "true" or not items:
                return found
            params["after"] = items[-1]["id"]
        raise AssertionError("job listing did not end")

    def _page(self, params: dict[str, Any]) -> httpx.Response:
        """One page of ``GET /jobs``, asked again when the faults under test answer it 5xx/429."""
        for _ in range(50):
            page = httpx.get(f"{self.base_url}/jobs", params=params, timeout=10)
            if page.status_code < 500 and page.status_code != 429:
                page.raise_for_status()
                return page
            time.sleep(0.1)
        page.raise_for_status()
        raise AssertionError("unreachable")


@dataclass
class FaultyService(ServiceRecords):
    """The simulate service as a child process; keeps its data dir and port across restarts."""

    config: ServiceConfig
    local: LocalService = field(init=False)

    def __post_init__(self) -> None:
        self.local = LocalService(self.config)

    def start(self) -> FaultyService:
        self.local.start()
        self.config = self.local.config  # with the real port, for restarts
        return self

    @property  # type: ignore[override]
    def base_url(self) -> str:
        return self.config.base_url

    def kill(self) -> None:
        self.local.stop(kill=True)

    def restart(self, **changes: Any) -> None:
        """Start again on the same port and data dir, with some settings changed."""
        self.local.stop()
        self.config = ServiceConfig(**{**_fields(self.config), **changes})
        self.local = LocalService(self.config)
        self.start()

    def stop(self) -> None:
        self.local.stop()


def _fields(config: ServiceConfig) -> dict[str, Any]:
    names = ServiceConfig.__dataclass_fields__
    return {name: getattr(config, name) for name in names if name != "added_roots"}


@contextlib.contextmanager
def faulty_service(data_dir: Path, library: Path, **faults: Any) -> Iterator[FaultyService]:
    """A simulate service reading ``library``, with ``faults``; stopped on exit."""
    settings: dict[str, Any] = {
        "port": 0,
        "engine": "simulate",
        "latency": (0.1, 0.3),
        "seed": 11,
        "allow_roots": (library.resolve(),),
        **faults,
    }
    service = FaultyService(ServiceConfig(data_dir=data_dir, **settings))
    try:
        yield service.start()
    finally:
        service.stop()


@dataclass
class Outcome:
    """What a scenario ended with."""

    exit_code: int | None
    stdout: str
    stderr: str
    files: int
    lost: list[str]
    duplicates: int
    jobs: int
    leftovers: list[str]
    wall_s: float
    requests: int = 0  # API requests the service answered (since it last started)
    error_responses: int = 0  # of those, answered 4xx/5xx (429s included)
    statuses: Counter[str] = field(default_factory=Counter)
    rows: list[dict[str, Any]] = field(default_factory=list)
    earlier_exits: list[int | None] = field(default_factory=list)  # of commands run before

    def describe(self) -> str:
        return (
            f"exit {self.exit_code}; lost {self.lost}; duplicates {self.duplicates}; "
            f"leftovers {self.leftovers}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def processes_of(home: Path) -> dict[int, str]:
    """Live processes whose environment names ``home`` (everything a command started)."""
    marker = f"MEDIA_ASSETS_HOME={home}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if marker not in environ.split(b"\0"):
                continue
            status = (entry / "stat").read_text()
            if ") Z " in status:  # a zombie is already dead
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def wait_for_no_process(home: Path, timeout_s: float) -> list[str]:
    """Processes of ``home`` still alive after ``timeout_s``; those are then killed (cleanup)."""
    deadline = time.monotonic() + timeout_s
    left = processes_of(home)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = processes_of(home)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return [f"{pid} {cmd[:160]}" for pid, cmd in left.items()]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def reckon(
    cli: Cli,
    service: ServiceRecords,
    paths: list[Path],
    process: subprocess.Popen[str],
    *,
    started: float,
    timeout_s: float,
) -> Outcome:
    """Wait for the command (bounded), then count what the scenario left."""
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stdout, stderr = cli.stop(process)
    wall = time.monotonic() - started
    leftovers = wait_for_no_process(cli.home, 45.0)
    manifest = cli.home / "manifest.duckdb"
    rows = read_results(manifest) if manifest.is_file() else []
    stats = service.stats()
    responses = stats.get("responses", {})
    return Outcome(
        exit_code=process.returncode,
        stdout=stdout,
        stderr=stderr,
        files=len(paths),
        lost=lost_files(rows, paths),
        duplicates=duplicate_jobs(service.jobs()),
        jobs=len(service.jobs()),
        leftovers=leftovers,
        wall_s=wall,
        requests=sum(int(count) for count in stats.get("requests", {}).values()),
        error_responses=sum(
            int(count) for status, count in responses.items() if int(status) >= 400
        ),
        statuses=Counter(str(row["status"]) for row in rows),
        rows=rows,
    )


def lost_files(rows: list[dict[str, Any]], paths: list[Path]) -> list[str]:
    """Files given that neither ended well nor failed with a reason naming them."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(str(row["source_uri"]).rsplit("/", 1)[-1], []).append(row)
    lost = []
    for path in paths:
        found = by_file.get(path.name, [])
        settled = len(found) == STAGES and all(
            row["status"] in ("succeeded", "not_applicable")
            or (row["status"] == "failed" and row["error_message"])
            for row in found
        )
        if not settled:
            lost.append(path.name)
    return lost


def duplicate_jobs(jobs: list[dict[str, Any]]) -> int:
    """Successful remote jobs beyond one per (file, stage)."""
    succeeded = Counter(
        (job.get("metadata", {}).get("partition_key"), job.get("metadata", {}).get("stage"))
        for job in jobs
        if job["status"] in ("succeeded", "completed")
    )
    return sum(count - 1 for count in succeeded.values() if count > 1)


def run_worker_pids(home: Path) -> list[int]:
    """Run workers of the command using ``home`` (Dagster starts them as spawned children)."""
    return [pid for pid, cmd in processes_of(home).items() if "spawn_main" in cmd]


def daemon_pids(home: Path) -> list[int]:
    return [pid for pid, cmd in processes_of(home).items() if "dagster-daemon" in cmd]


def cli_pid_alive(process: subprocess.Popen[str]) -> bool:
    return process.poll() is None


def make_clips(folder: Path, count: int) -> list[Path]:
    """``count`` real one-second clips for the ffmpeg engine."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"clip-{index:03d}.mp4"
        make_clip(path, size="160x120", seconds=1.0)
        os.utime(path, (time.time() - 60, time.time() - 60))
        paths.append(path)
    return paths


class FullDiskService(ServiceRecords):
    """A service whose outputs folder is a small disk it fills; ``free_space`` empties it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, filler: Path) -> None:
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"
        # The disk is mounted in the service's own namespace; /proc/PID/root sees it.
        self._filler = Path(f"/proc/{process.pid}/root") / filler.relative_to("/")

    def free_space(self) -> None:
        self._filler.unlink()


@contextlib.contextmanager
def full_disk_service(data_dir: Path, library: Path) -> Iterator[FullDiskService]:
    """The ffmpeg service with its outputs folder on a nearly full 256 kB disk of its own.

    The disk is a tmpfs mounted in a mount namespace of the service alone (nothing else on the
    machine sees it), filled but for 8 kB, so real outputs fail to write with ENOSPC.
    """
    port = free_port()
    files = data_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    filler = files / ".filler"
    service_argv = [
        sys.executable, "-m", "media_assets.local_ittybit", "--port", str(port),
        "--data-dir", str(data_dir), "--engine", "ffmpeg", "--allow-root", str(library),
    ]  # fmt: skip
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(files))}"
        f" && head -c 245760 /dev/zero > {shlex.quote(str(filler))}"
        " && exec " + " ".join(shlex.quote(part) for part in service_argv)
    )
    log = (data_dir / "service.log").open("ab")
    process = subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    service = FullDiskService(process, port, filler)
    try:
        wait_until(lambda: _answers(service.base_url) or process.poll() is not None, 30, "start")
        if process.poll() is not None:
            raise AssertionError(f"the service did not start; see {data_dir / 'service.log'}")
        yield service
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/_local/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
