"""`media-assets` end to end: real subprocesses, a real dagster-daemon, the local ffmpeg service.

Each command runs with its own MEDIA_ASSETS_HOME in tmp, no Ittybit key, and ITTYBIT_BASE_URL on
a free loopback port, so the local service it starts collides with nothing else on the machine.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dagster as dg
import pytest
from cli_helpers import Cli
from media_clips import make_clip

from media_assets.instance.backfills import backfill_state
from media_assets.manifest.queries import read_results

pytestmark = pytest.mark.slow

BROKEN = "broken-empty.mp4"
# Three short clips, each of its own size and picture.
_CLIPS: dict[str, dict[str, Any]] = {
    "clip-a.mp4": {"size": "320x240"},
    "clip-b.mp4": {"size": "240x320"},
    "clip-c.mp4": {"size": "320x180", "pattern": "testsrc2"},
}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def make_library_with_broken_file(folder: Path) -> Path:
    """Three short generated clips and one zero-byte mp4."""
    for name, shape in _CLIPS.items():
        make_clip(folder / name, seconds=1, **shape)
    (folder / BROKEN).write_bytes(b"")
    return folder


@dataclass(frozen=True)
class RunOutcome:
    cli: Cli
    library: Path
    done: subprocess.CompletedProcess[str]

    @property
    def failed_section(self) -> str:
        assert "file(s) failed:" in self.done.stdout, self.done.stdout + self.done.stderr
        return self.done.stdout.split("file(s) failed:", 1)[1]


@pytest.fixture(scope="module")
def broken_library_run(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """`media-assets run` once over three clips and a zero-byte file (shared by the tests below)."""
    tmp_path = tmp_path_factory.mktemp("cli-run")
    cli = Cli(tmp_path)
    library = make_library_with_broken_file(tmp_path / "library")
    return RunOutcome(cli=cli, library=library, done=cli.run("run", str(library)))


def test_run_with_a_broken_file_exits_1(broken_library_run: RunOutcome) -> None:
    """`run` over a folder with a zero-byte file exits 1 (some files failed)."""
    done = broken_library_run.done
    assert done.returncode == 1, done.stdout + done.stderr


def test_run_output_names_the_broken_file_and_reason(broken_library_run: RunOutcome) -> None:
    """`run` prints the broken file, and only it, with the reason it failed."""
    assert "1 file(s) failed:" in broken_library_run.done.stdout
    failed_section = broken_library_run.failed_section
    assert str(broken_library_run.library / BROKEN) in failed_section
    # The cause, from the first stage that failed; the other stages only failed because of it.
    assert f"ingested: invalid_input: {BROKEN}: file is empty (0 bytes)" in failed_section
    for name in _CLIPS:
        assert name not in failed_section, f"{name} reported as failed"


def test_run_processes_the_good_files(broken_library_run: RunOutcome) -> None:
    """Every stage of the three good clips succeeded, per the manifest the run wrote."""
    rows = read_results(broken_library_run.cli.home / "manifest.duckdb")
    assert len(rows) == (len(_CLIPS) + 1) * 4
    by_file: dict[str, set[str]] = {}
    for row in rows:
        by_file.setdefault(row["source_uri"].rsplit("/", 1)[1], set()).add(row["status"])
    assert by_file == {**{name: {"succeeded"} for name in _CLIPS}, BROKEN: {"failed"}}


def test_run_outputs_resolve_after_every_process_has_exited(
    broken_library_run: RunOutcome,
) -> None:
    """With the service stopped, every output in the manifest is a file:// URL that resolves, in
    outputs/<stage>/<partition key>/ under the home."""
    cli = broken_library_run.cli
    assert not cli.service_answers()
    made = [
        row for row in read_results(cli.home / "manifest.duckdb") if row["status"] == "succeeded"
    ]
    assert len(made) == len(_CLIPS) * 4
    for row in made:
        url = str(row["output_url"])
        assert url.startswith("file://"), url
        path = Path(unquote(urlsplit(url).path))
        assert path.is_file(), url
        assert path.parent == cli.home / "outputs" / row["stage"] / row["partition_key"]
        assert row["output_path"] == str(path)
        assert row["check_status"] == "passed", (row["stage"], row["check_message"])


def test_run_says_where_the_outputs_are(broken_library_run: RunOutcome) -> None:
    """The summary names the output folder."""
    outputs = broken_library_run.cli.home / "outputs"
    assert f"outputs: {outputs} (one folder per stage, then per file)" in (
        broken_library_run.done.stdout
    )


def test_run_goes_through_a_daemon_backfill(broken_library_run: RunOutcome) -> None:
    """The files were processed by a completed backfill's runs, launched by the daemon."""
    dagster_home = broken_library_run.cli.home / "dagster_home"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        (backfill,) = instance.get_backfills()
        state = backfill_state(instance, backfill.backfill_id)
        assert state is not None and state.ended
        runs = instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id})
        )
        assert runs, "the backfill launched no run"
        assert {run.status for run in runs} == {dg.DagsterRunStatus.FAILURE}  # the one ranged run
        assert instance.get_daemon_heartbeats() == {}, "daemon heartbeats left behind"


def test_run_stops_the_service_it_started(broken_library_run: RunOutcome) -> None:
    """After `run` exits, nothing answers at the local service URL it started."""
    assert broken_library_run.done.returncode == 1
    assert not broken_library_run.cli.service_answers()


def test_demo_runs_end_to_end(cli: Cli) -> None:
    """`demo` with no Ittybit settings exits 0, prints the summary table and writes the manifest."""
    done = cli.run("demo")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    header = next(line for line in done.stdout.splitlines() if line.startswith("stage"))
    assert header.split() == ["stage", "total", "succeeded", "failed", "not_applicable", "pending"]
    names = ("ingested", "thumbnail", "audio", "transcoded", "all")
    cells = [line.split() for line in done.stdout.splitlines()]
    rows = {row[0]: row[1:] for row in cells if row and row[0] in names}
    assert set(rows) == set(names)
    total, succeeded, failed, not_applicable, pending = (int(n) for n in rows["all"])
    assert failed == 0 and pending == 0
    assert succeeded + not_applicable == total > 0
    manifest = cli.home / "manifest.duckdb"
    assert manifest.is_file()
    assert f"manifest: {manifest}" in done.stdout
    outputs = cli.home / "outputs"
    assert f"outputs: {outputs}" in done.stdout
    assert {folder.name for folder in outputs.iterdir()} == set(names[:-1])
    assert (cli.home / "dagster_home" / "dagster.yaml").is_file()


def test_run_with_only_a_missing_path_exits_2(cli: Cli, tmp_path: Path) -> None:
    """`run` given only a path that does not exist is a usage error (exit 2) that names it."""
    missing = tmp_path / "no-such-folder"
    done = cli.run("run", str(missing))
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(missing) in done.stderr
    assert "no such file or folder" in done.stderr
