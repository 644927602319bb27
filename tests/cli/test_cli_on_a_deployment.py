"""Dagster's distributed shape on one machine, without containers, shared by two homes.

What deploy/compose runs as containers runs here as processes: PostgreSQL (a scratch server), a
`dagster code-server` serving the code location over gRPC, `dagster-daemon` and
`dagster-webserver` each loading it through the compose workspace file (pointed at this
machine), on the instance a home on the database gets. Two homes then run a library each with
`media-assets run`: they use the deployment's daemon instead of starting one, their runs go
through the code server, and the webserver shows them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import yaml
from cli_helpers import Cli, free_port

from media_assets.instance.config import write_instance_config
from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import LocalService
from media_assets.settings import CODE_LOCATION_MODULE, sqlalchemy_postgres_url

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"
FILES = 20
CAP = 6
START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 150
RUNS_QUERY = "{ runsOrError { ... on Runs { results { status tags { key value } } } } }"


class Processes:
    """Long-running processes of the deployment, each in its own session, stopped by id."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as log:
            self.started.append(
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def wait_for(condition: Callable[[], bool], what: str, processes: Processes) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{processes.log(n)}" for n in ("code-server", "daemon"))
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.5)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LocalService]:
    config = ServiceConfig(
        port=0, data_dir=tmp_path / "ittybit", engine="simulate", latency=(0.2, 0.5), workers=64
    )
    local = LocalService(config).start()
    try:
        yield local
    finally:
        local.stop(kill=True)


def test_two_homes_on_the_deployments_daemon_code_server_and_webserver(
    tmp_path: Path, postgres_url: str, service: LocalService
) -> None:
    """Both homes' runs succeed through the deployment's processes and the webserver sees them."""
    dagster_home = tmp_path / "deployment" / "dagster_home"
    dagster_home.mkdir(parents=True)
    write_instance_config(dagster_home, database=True)
    grpc_port, web_port = free_port(), free_port()
    workspace = load_compose_workspace()
    workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_ASSETS_", "DAGSTER_"))},
        "DAGSTER_HOME": str(dagster_home),
        "MEDIA_ASSETS_HOME": str(tmp_path / "deployment"),
        "MEDIA_ASSETS_DATABASE_URL": sqlalchemy_postgres_url(postgres_url),
        "ITTYBIT_BASE_URL": service.base_url,
    }
    processes = Processes(tmp_path / "logs")
    try:
        processes.start(
            "code-server",
            [str(BIN / "dagster"), "code-server", "start", "--host", "127.0.0.1",
             "--port", str(grpc_port), "--module-name", CODE_LOCATION_MODULE,
             "--location-name", "media_assets"],
            env,
        )  # fmt: skip
        processes.start(
            "daemon",
            [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
            env,
        )
        processes.start(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port),
             "-w", str(tmp_path / "workspace.yaml")],
            env,
        )  # fmt: skip
        graphql = f"http://127.0.0.1:{web_port}/graphql"
        with dg.instance_for_test(
            overrides={"storage": {"postgres": {"postgres_url": env["MEDIA_ASSETS_DATABASE_URL"]}}}
        ) as instance:
            wait_for(lambda: daemon_beating(instance), "the daemon's heartbeat", processes)
        wait_for(lambda: answers(graphql), "the webserver", processes)

        homes = [Cli(tmp_path / name) for name in ("machine-a", "machine-b")]
        commands = []
        for index, cli in enumerate(homes):
            cli.env.update(
                MEDIA_ASSETS_DATABASE_URL=postgres_url, ITTYBIT_BASE_URL=service.base_url
            )
            library = write_library(tmp_path / f"library-{index}.jsonl", f"shape-{index}")
            args = ["run", str(library), "--engine", "simulate", "--max-in-flight", str(CAP)]
            commands.append((cli, cli.start(*args)))
        outcomes = finish(commands)
        runs = httpx.post(graphql, json={"query": RUNS_QUERY}, timeout=30).json()
    finally:
        processes.stop()

    for stdout, stderr, code in outcomes:
        assert code == 0, stdout + stderr
        assert "started a Dagster daemon" not in stderr  # the deployment's daemon served both
    stats = httpx.get(f"{service.base_url}/_local/stats", timeout=10).json()
    assert stats["jobs"]["succeeded"] == 2 * FILES * 4
    assert stats["high_water_in_flight"] <= CAP
    # The webserver reads the same database: it lists both homes' backfill runs, all succeeded
    # (beside them, the deployment's manifest_updates sensor may have an update under way), and
    # no run failed.
    results = runs["data"]["runsOrError"]["results"]
    backfill_runs = [run for run in results if _tag(run, "dagster/backfill") is not None]
    assert len({_tag(run, "dagster/backfill") for run in backfill_runs}) == 2
    assert {run["status"] for run in backfill_runs} == {"SUCCESS"}
    assert not {run["status"] for run in results} & {"FAILURE", "CANCELED"}, results


def _tag(run: dict[str, Any], key: str) -> str | None:
    return next((tag["value"] for tag in run["tags"] if tag["key"] == key), None)


def finish(
    commands: list[tuple[Cli, subprocess.Popen[str]]],
) -> list[tuple[str, str, int]]:
    outcomes = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        for _, process in commands:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            outcomes.append((stdout, stderr, process.returncode))
    finally:
        for cli, process in commands:
            if process.poll() is None:
                cli.stop(process)
    return outcomes


def load_compose_workspace() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((COMPOSE_DIR / "workspace.yaml").read_text())
    return loaded


def daemon_beating(instance: dg.DagsterInstance) -> bool:
    return "BACKFILL" in instance.get_daemon_heartbeats()


def answers(url: str) -> bool:
    try:
        return httpx.post(url, json={"query": "{ version }"}, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def write_library(path: Path, name: str) -> Path:
    path.write_text(
        "".join(
            json.dumps({"url": f"https://media.invalid/{name}/clip-{i:03d}.mp4"}) + "\n"
            for i in range(FILES)
        )
    )
    return path
