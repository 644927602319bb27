"""`media-assets dev` in use: the Dagster UI in a real browser, and a manifest that follows it.

One home for the module. `media-assets run` processes a clip, an mp3 and an empty file and exits,
stopping the local service it started; then `dev` serves that home from the repository's root.
The UI must show that earlier run's outputs and say why partitions failed or do not apply, and
work launched under `dev` (a materialization launched as the UI launches one, an upload dropped
into the inbox) must reach the manifest within a minute. Screenshots go to each test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from browser_helpers import (
    chromium,
    click_text,
    dismiss_welcome,
    require_browser,
    text_of,
    wait_for,
)
from cli_helpers import Cli, free_port, media_assets_command
from dagster_graphql import DagsterGraphQLClient
from media_clips import make_clip, make_tone
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from media_assets.manifest.queries import read_results
from media_assets.sources import discover

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# The product's promise: the manifest is at most a minute behind any materialization.
MANIFEST_LAG_S = 60
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 300
STAGES = ("ingested", "thumbnail", "audio", "transcoded")


@dataclass(frozen=True)
class DevServer:
    cli: Cli
    url: str
    log: Path
    keys: dict[str, str]  # file name -> partition key

    @property
    def dagster_home(self) -> Path:
        return self.cli.home / "dagster_home"


def keys_of(folder: Path) -> dict[str, str]:
    files, errors = discover([folder])
    assert not errors, errors
    return {file.name: file.key for file in files}


def graphql(url: str, query: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query}, timeout=30)
    response.raise_for_status()
    data: dict[str, Any] = response.json()["data"]
    return data


_LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { __typename } } } } }
"""


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dev exited:\n{log.read_text()}"
        try:
            entries = graphql(url, _LOCATIONS)["workspaceOrError"]["locationEntries"]
        except (httpx.HTTPError, KeyError, TypeError):
            entries = []
        if entries and all(
            entry["locationOrLoadError"]["__typename"] == "RepositoryLocation" for entry in entries
        ):
            return
        time.sleep(1)
    raise AssertionError(f"the UI did not load the code location:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops dev; killed if it takes too long."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("dev")
    cli = Cli(tmp)
    library = tmp / "library"
    make_clip(library / "clip.mp4", size="320x240", seconds=3)
    make_tone(library / "tone.mp3", seconds=2)
    (library / "broken.mp4").write_bytes(b"")
    done = cli.run("run", str(library))
    assert done.returncode == 1, done.stdout + done.stderr
    assert not cli.service_answers(), "run left its local service running"
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp / "dev.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*media_assets_command(), "dev", "--port", url.rsplit(":", 1)[1]],
            env=cli.env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_until_serving(url, process, log)
        yield DevServer(cli=cli, url=url, log=log, keys=keys_of(library))
    finally:
        stop(process)


def manifest_row(dev: DevServer, key: str, stage: str) -> dict[str, Any] | None:
    rows = read_results(dev.cli.home / "manifest.duckdb")
    return next((r for r in rows if (r["partition_key"], r["stage"]) == (key, stage)), None)


def wait_for_manifest(dev: DevServer, key: str, stage: str, **wanted: Any) -> None:
    """Return once the manifest's row for (key, stage) has the ``wanted`` values."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    row = None
    while time.monotonic() < deadline:
        row = manifest_row(dev, key, stage)
        if row is not None and all(row.get(name) == value for name, value in wanted.items()):
            return
        time.sleep(1)
    raise AssertionError(f"manifest row {key} {stage} never had {wanted}: {row}")


def latest_materialization(
    instance: dg.DagsterInstance, stage: str, key: str
) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[key]), limit=1
    ).records
    return records[0] if records else None


def test_dev_starts_without_dagster_notices(dev: DevServer) -> None:
    """No 'use dg dev' supersession notice, no warning about a dagster.yaml in the working
    folder, no interpreter warning: dev says only what a user needs."""
    text = dev.log.read_text(errors="replace")
    for notice in ("SupersessionWarning", "dg dev", "Found a dagster instance configuration"):
        assert notice not in text, text
    assert "RuntimeWarning" not in text, text
    assert f"outputs are kept in {dev.cli.home / 'outputs'}" in text


def test_the_code_location_is_media_assets_everywhere(dev: DevServer) -> None:
    """The UI lists one code location, media_assets, as workspace.yaml names it, and the runs
    of `media-assets run` were launched from a location of the same name."""
    entries = graphql(dev.url, _LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert [entry["name"] for entry in entries] == ["media_assets"]
    with dg.DagsterInstance.from_config(str(dev.dagster_home)) as instance:
        launched = [run for run in instance.get_runs() if run.remote_job_origin is not None]
    assert launched
    assert {run.remote_job_origin.location_name for run in launched} == {"media_assets"}


def _loaded_preview(driver: Any) -> WebElement | None:
    dismiss_welcome(driver)
    for image in driver.find_elements(By.CSS_SELECTOR, "img[src*='/files/thumbnail/']"):
        if driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        ):
            return image
    return None


def test_the_thumbnail_partition_page_shows_the_preview_and_statuses(
    dev: DevServer, tmp_path: Path
) -> None:
    """The thumbnail's partition page shows the image made by the earlier `run` (its service is
    long gone; dev's serves the output folder) and the partitions' statuses."""
    require_browser()
    key = dev.keys["clip.mp4"]
    with chromium(tmp_path / "profile") as driver:
        driver.get(f"{dev.url}/assets/thumbnail?view=partitions&partition={key}")
        image = wait_for(driver, _loaded_preview)
        assert "/files/thumbnail/" in str(image.get_attribute("src"))
        wait_for(driver, lambda d: "Failed (1)" in text_of(d) and "Materialized (2)" in text_of(d))
        page = text_of(driver)
        for partition in dev.keys.values():
            assert partition in page or partition[:12] in page, partition
        driver.save_screenshot(str(tmp_path / "thumbnail-partition.png"))
    assert (tmp_path / "thumbnail-partition.png").stat().st_size > 0


def test_a_stage_that_does_not_apply_says_so_on_its_partition_page(
    dev: DevServer, tmp_path: Path
) -> None:
    """The mp3's thumbnail partition says 'Not applicable' and why, first thing."""
    require_browser()
    key = dev.keys["tone.mp3"]
    with chromium(tmp_path / "profile") as driver:
        driver.get(f"{dev.url}/assets/thumbnail?view=partitions&partition={key}")
        dismiss_welcome(driver)
        wait_for(driver, lambda d: "Not applicable: audio-only source has no picture" in text_of(d))
        driver.save_screenshot(str(tmp_path / "not-applicable.png"))


def test_the_check_says_why_a_partition_failed(dev: DevServer, tmp_path: Path) -> None:
    """On the thumbnail's Checks tab, the empty file's partition shows the failure's reason."""
    require_browser()
    with chromium(tmp_path / "profile") as driver:
        driver.get(f"{dev.url}/assets/thumbnail?view=checks")
        dismiss_welcome(driver)
        click_text(driver, "output_valid", exact=True)
        click_text(driver, "Partitions", exact=True)  # the check's tab, after the asset's
        click_text(driver, dev.keys["broken.mp4"][:8])
        wait_for(
            driver,
            lambda d: (
                "No output: thumbnail failed" in text_of(d)
                and "broken.mp4: file is empty (0 bytes)" in text_of(d)
            ),
        )
        driver.save_screenshot(str(tmp_path / "failed-check.png"))


def test_the_manifest_follows_a_materialization_launched_from_the_ui(dev: DevServer) -> None:
    """Re-materializing a thumbnail the way the UI launches it reaches the manifest in a minute."""
    key = dev.keys["clip.mp4"]
    assert (manifest_row(dev, key, "thumbnail") or {}).get("cached") is False
    port = int(dev.url.rsplit(":", 1)[1])
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "__ASSET_JOB",
        repository_location_name="media_assets",
        tags={"dagster/partition": key},
        asset_selection=[["thumbnail"]],
    )
    with dg.DagsterInstance.from_config(str(dev.dagster_home)) as instance:
        record = wait_for_event(instance, run_id, "thumbnail", key)
    wait_for_manifest(dev, key, "thumbnail", cached=True)
    lag = time.time() - record.timestamp
    assert lag <= MANIFEST_LAG_S, f"the manifest was {lag:.0f} s behind"


def test_the_manifest_follows_an_upload_dropped_into_the_inbox(
    dev: DevServer, tmp_path: Path
) -> None:
    """A clip dropped into the inbox is processed by the sensor's run, and its four stages reach
    the manifest within a minute of being recorded."""
    inbox = dev.cli.home / "inbox"
    staged = make_clip(tmp_path / "upload.mp4", size="320x240", seconds=2)
    shutil.move(staged, inbox / "upload.mp4")
    key = keys_of(inbox)["upload.mp4"]
    with dg.DagsterInstance.from_config(str(dev.dagster_home)) as instance:
        records = [wait_for_event(instance, None, stage, key) for stage in STAGES]
    for stage in STAGES:
        wait_for_manifest(dev, key, stage, status="succeeded")
    lag = time.time() - max(record.timestamp for record in records)
    assert lag <= MANIFEST_LAG_S, f"the manifest was {lag:.0f} s behind"


def wait_for_event(
    instance: dg.DagsterInstance, run_id: str | None, stage: str, key: str
) -> dg.EventLogRecord:
    """The materialization of (stage, key), by ``run_id`` when given, once it is recorded."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        record = latest_materialization(instance, stage, key)
        if record is not None and (run_id is None or record.run_id == run_id):
            return record
        time.sleep(1)
    raise AssertionError(f"{stage} {key} was not materialized in {RUN_TIMEOUT_S} s")
