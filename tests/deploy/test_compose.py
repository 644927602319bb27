"""The Docker deployment: the instance loads with its Docker launcher, the files fit together."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster_docker import DockerRunLauncher
from dagster_postgres import PostgresEventLogStorage
from deploy_files import COMPOSE_DIR, DOCKERFILE, THROTTLE_SECTIONS, home_template, load_yaml

from media_assets.settings import CODE_LOCATION_MODULE, load_settings, sqlalchemy_postgres_url

REPO = COMPOSE_DIR.parents[1]


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE_DIR / "compose.yaml")
    return loaded


@pytest.fixture
def instance_config() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE_DIR / "dagster.yaml")
    return loaded


def test_instance_loads_with_the_docker_launcher(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    instance_config: dict[str, Any],
) -> None:
    """deploy/compose/dagster.yaml is an instance on PostgreSQL with a DockerRunLauncher."""
    shutil.copy(COMPOSE_DIR / "dagster.yaml", tmp_path / "dagster.yaml")
    for name in instance_config["run_launcher"]["config"]["env_vars"]:
        monkeypatch.setenv(name, "")  # compose sets each, possibly empty
    monkeypatch.setenv("MEDIA_ASSETS_DATABASE_URL", sqlalchemy_postgres_url(postgres_url))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.get_runs() == []
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.networks == ["media_assets"]
    assert load_settings().uses_database  # the same environment is valid media_assets settings


def test_throttle_is_the_homes(instance_config: dict[str, Any]) -> None:
    """Run queue, pools, run monitoring and sensors are those of a home's dagster.yaml."""
    template = home_template()
    for section in THROTTLE_SECTIONS:
        assert instance_config[section] == template[section], section


def test_workspace_points_at_the_code_server(compose: dict[str, Any]) -> None:
    """The webserver and the daemon load the code location from the code-server container."""
    (origin,) = WorkspaceFileTarget(paths=[str(COMPOSE_DIR / "workspace.yaml")]).create_origins()
    assert isinstance(origin, GrpcServerCodeLocationOrigin)
    assert (origin.host, origin.port, origin.location_name) == ("code-server", 4000, "media_assets")
    assert "code-server" in compose["services"]
    command = dockerfile_command()
    assert command[command.index("--port") + 1] == str(origin.port)
    assert command[command.index("--module-name") + 1] == CODE_LOCATION_MODULE


def test_services_fit_the_instance(
    compose: dict[str, Any], instance_config: dict[str, Any]
) -> None:
    """Each process is its own service; names, mounts and variables match what they use."""
    services = compose["services"]
    assert set(services) == {"postgres", "code-server", "daemon", "webserver"}
    code_server = services["code-server"]
    assert code_server["environment"]["DAGSTER_CURRENT_IMAGE"] == code_server["image"]
    launcher = instance_config["run_launcher"]["config"]
    assert launcher["network"] in {net["name"] for net in compose["networks"].values()}
    volume = launcher["container_kwargs"]["volumes"][0].split(":")[0]
    assert volume in {spec["name"] for spec in compose["volumes"].values() if spec}
    for name in ("daemon", "webserver"):
        service = services[name]
        assert service["image"] == code_server["image"]
        mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in service["volumes"]}
        assert mounts["/opt/dagster/dagster_home/dagster.yaml"] == "./dagster.yaml"
        assert mounts["/opt/dagster/app/workspace.yaml"] == "./workspace.yaml"
        assert "/opt/dagster/app/workspace.yaml" in service["command"]
    # Every variable the launcher passes on is set in the daemon's environment.
    assert set(launcher["env_vars"]) <= set(services["daemon"]["environment"])
    assert "/var/run/docker.sock" in " ".join(services["daemon"]["volumes"])


def test_database_url_is_the_psycopg2_one_with_the_password_from_outside(
    compose: dict[str, Any],
) -> None:
    """Dagster reads the URL as it is, so it has the psycopg2 scheme and no literal password."""
    url = compose["services"]["daemon"]["environment"]["MEDIA_ASSETS_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg2://media_assets:${POSTGRES_PASSWORD")
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${")


def test_image_installs_the_launchers_and_matches_the_mounts() -> None:
    """The image's Python, extras and DAGSTER_HOME are the ones the project and compose use."""
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11\b", text, re.M)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (extras,) = re.findall(r'pip install "\.\[([a-z0-9,]+)\]"', text)
    assert set(extras.split(",")) <= set(project["optional-dependencies"])
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in text
    for copied in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for source in copied.split():
            assert (REPO / source).exists(), source
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text()
    assert "!media_assets/" in ignore


def dockerfile_command() -> list[str]:
    text = DOCKERFILE.read_text()
    (command,) = re.findall(r"^CMD (\[.*?\])\s*$", text.replace("\\\n", ""), re.M | re.S)
    parsed: list[str] = json.loads(command)
    return parsed
