"""Engines do the work behind jobs: ``ffmpeg`` (real media) or ``simulate`` (timing and faults)."""

from __future__ import annotations

import httpx

from ..config import ServiceConfig
from .base import Engine, JobRun
from .ffmpeg import FfmpegEngine
from .simulate import SimulateEngine

__all__ = ["Engine", "FfmpegEngine", "JobRun", "SimulateEngine", "make_engine"]


def make_engine(config: ServiceConfig, http: httpx.AsyncClient) -> Engine:
    if config.engine == "simulate":
        return SimulateEngine(config)
    return FfmpegEngine(config, http)
