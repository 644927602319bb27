"""The Helm values: the instance the chart renders from them loads, and its launcher validates."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster_k8s import K8sRunLauncher
from dagster_postgres import PostgresEventLogStorage
from deploy_files import HELM_VALUES, THROTTLE_SECTIONS, home_template, load_yaml
from helm_chart import render_instance

from media_assets.settings import CODE_LOCATION_MODULE, POSTGRES_SCHEME


@pytest.fixture
def values() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(HELM_VALUES)
    return loaded


def test_chart_instance_loads_on_postgres(
    values: dict[str, Any], postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rendered dagster.yaml, pointed at a real server, is an instance on PostgreSQL."""
    server = urlparse(postgres_url)
    pointed = copy.deepcopy(values)
    pointed["postgresql"].update(
        postgresqlHost=server.hostname,
        postgresqlUsername=server.username,
        postgresqlDatabase=server.path.lstrip("/"),
        service={"port": server.port},
    )
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password or "")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(render_instance(pointed)))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.get_runs() == []
        run_queue = instance.get_concurrency_config().run_queue_config
        assert run_queue is not None
        assert run_queue.max_concurrent_runs == 4


def test_k8s_run_launcher_accepts_its_config(
    values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher config the chart renders passes K8sRunLauncher's own config schema."""
    for name in (
        "DAGSTER_HOME",
        "DAGSTER_K8S_INSTANCE_CONFIG_MAP",
        "DAGSTER_K8S_PG_PASSWORD_SECRET",
        "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP",
    ):
        monkeypatch.setenv(name, "set-by-the-chart")
    launcher = render_instance(values)["run_launcher"]
    result = process_config(K8sRunLauncher.config_type(), launcher["config"])
    assert result.success, [error.message for error in result.errors or []]
    assert result.value is not None
    assert result.value["env_secrets"] == ["media-assets"]


def test_storage_uses_the_psycopg2_scheme(values: dict[str, Any]) -> None:
    """The chart's postgres_db storage carries the scheme SQLAlchemy needs for psycopg2."""
    assert values["postgresql"]["postgresqlScheme"] == POSTGRES_SCHEME


def test_throttle_is_the_homes(values: dict[str, Any]) -> None:
    """Run queue, pools, run monitoring and sensors are those of a home's dagster.yaml."""
    rendered = render_instance(values)
    template = home_template()
    for section in THROTTLE_SECTIONS:
        assert rendered[section] == template[section], section


def test_code_location_and_its_runs_get_the_database(values: dict[str, Any]) -> None:
    """The user deployment serves media_assets; it and its runs get the same secret."""
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == CODE_LOCATION_MODULE
    secret = {item["name"] for item in deployment["envSecrets"]}
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert secret == {item["name"] for item in launcher["envSecrets"]}
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
