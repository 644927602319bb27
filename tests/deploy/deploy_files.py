"""Reading the deployment files in deploy/ and the home's instance template, for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from media_assets.instance.config import INSTANCE_TEMPLATE

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
# The instance sections that make the throttle and the sensors; every deployment shares them.
THROTTLE_SECTIONS = ("concurrency", "run_queue", "run_monitoring", "sensors")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def home_template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    return loaded
