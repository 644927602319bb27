"""The instance ``dagster.yaml`` Dagster's Helm chart renders from a values file, for the tests.

Helm and the chart are not available offline, so this renders the parts of the chart's
``templates/configmap-instance.yaml`` (and its helpers ``helpers/instance/_postgresql.tpl`` and
``_run-launcher.tpl``) that media_assets's values set, the way those templates do: PostgreSQL
storage as ``postgres_db`` with the password from ``DAGSTER_PG_PASSWORD``, the K8s run launcher
with the environment the chart gives its pods, run monitoring, sensors, telemetry, and
``additionalInstanceConfig`` appended as it is. Keys the values leave to the chart's defaults are
left out; Dagster fills its own defaults for them.
"""

from __future__ import annotations

from typing import Any

RELEASE_NAMESPACE = "media-assets"
SERVICE_ACCOUNT = "media-assets-dagster"


def render_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The instance config the chart would write into its ``-instance`` ConfigMap."""
    postgres = _postgres_db(values["postgresql"])
    storage_config = {"postgres_db": postgres}
    daemon = values.get("dagsterDaemon", {})
    instance: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": storage_config,
        },
        "run_launcher": _k8s_run_launcher(values),
        "run_storage": {
            "module": "dagster_postgres.run_storage",
            "class": "PostgresRunStorage",
            "config": storage_config,
        },
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": storage_config,
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    if values["computeLogManager"]["type"] == "NoOpComputeLogManager":
        instance["compute_logs"] = {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        }
    coordinator = daemon.get("runCoordinator", {})
    if coordinator.get("enabled"):
        raise NotImplementedError("the values leave the run coordinator to the instance config")
    monitoring = daemon.get("runMonitoring", {})
    if monitoring.get("enabled"):
        instance["run_monitoring"] = {
            "enabled": True,
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
        }
    sensors = daemon.get("sensors", {})
    if sensors.get("useThreads"):
        instance["sensors"] = {"use_threads": True, "num_workers": sensors["numWorkers"]}
    instance.update(values.get("additionalInstanceConfig") or {})
    return instance


def _postgres_db(postgresql: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "username": postgresql["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": postgresql["postgresqlHost"],
        "db_name": postgresql["postgresqlDatabase"],
        "port": postgresql["service"]["port"],
        "params": postgresql["postgresqlParams"],
    }
    if postgresql.get("postgresqlScheme"):
        config["scheme"] = postgresql["postgresqlScheme"]
    return config


def _k8s_run_launcher(values: dict[str, Any]) -> dict[str, Any]:
    launcher = values["runLauncher"]
    if launcher["type"] != "K8sRunLauncher":
        raise NotImplementedError(launcher["type"])
    k8s = launcher["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or RELEASE_NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": SERVICE_ACCOUNT,
        "dagster_home": {"env": "DAGSTER_HOME"},
        "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
        "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
        "env_config_maps": [
            {"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"},
            *(item["name"] for item in k8s["envConfigMaps"] if "name" in item),
        ],
    }
    if k8s["envSecrets"]:
        config["env_secrets"] = [item["name"] for item in k8s["envSecrets"] if "name" in item]
    for key, name in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts")):
        if k8s.get(key):
            config[name] = k8s[key]
    if k8s.get("volumes"):
        config["volumes"] = k8s["volumes"]
    run_k8s = k8s.get("runK8sConfig") or {}
    if run_k8s:
        config["run_k8s_config"] = {
            _snake(key): value for key, value in run_k8s.items() if value is not None
        }
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
