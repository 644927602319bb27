"""Running `media-assets` as users do: a real subprocess in a clean environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from product_env import HOME_ENV, without_product_variables

COMMAND_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def media_assets_command() -> list[str]:
    script = Path(sys.executable).parent / "media-assets"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "media_assets.cli.main"]


class Cli:
    """Runs `media-assets` in a clean environment rooted in one temporary work folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.base_url = f"http://127.0.0.1:{free_port()}"
        env = without_product_variables(os.environ)
        env[HOME_ENV] = str(self.home)
        env["ITTYBIT_BASE_URL"] = self.base_url
        self.env = env

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `media-assets ARGS` in its own process group; ``stop`` ends it."""
        return subprocess.Popen(
            [*media_assets_command(), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    @staticmethod
    def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
        """Ctrl-C first, so the command stops the daemon and service it started; then kill."""
        os.killpg(process.pid, signal.SIGINT)
        try:
            return process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.communicate()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        process = self.start(*args)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stdout, stderr = self.stop(process)
            pytest.fail(f"{process.args} took over {COMMAND_TIMEOUT_S}s\n{stdout}\n{stderr}")
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def service_answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/_local/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


class HostedService:
    """`media-assets serve-ittybit --compat hosted` in a child process, as a user starts it."""

    def __init__(self, cli: Cli, data_dir: Path, api_key: str, *, engine: str = "ffmpeg") -> None:
        self.log_path = data_dir / "serve.log"
        self.api_key = api_key
        self.base_url = f"http://127.0.0.1:{free_port()}"
        self._command = [
            *media_assets_command(),
            "serve-ittybit",
            *("--compat", "hosted", "--api-key", api_key, "--engine", engine),
            *("--port", self.base_url.rsplit(":", 1)[1], "--data-dir", str(data_dir)),
        ]
        self._env = cli.env
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> HostedService:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "listening on" in self.log_path.read_text(errors="replace"):
                return
            assert self._process is not None
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"serve-ittybit did not start:\n{self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        """SIGTERM to its process group, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)
