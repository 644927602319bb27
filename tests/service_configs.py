"""Configs of the local service as the tests start it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from media_assets.local_ittybit import ServiceConfig


def simulate_config(
    data_dir: Path, *, latency: tuple[float, float] = (0.0, 0.02), seed: int = 7, **overrides: Any
) -> ServiceConfig:
    """The simulate engine on a free port with quick, seeded jobs unless overridden."""
    settings: dict[str, Any] = {"port": 0, "engine": "simulate", "latency": latency, "seed": seed}
    return ServiceConfig(data_dir=data_dir, **{**settings, **overrides})
